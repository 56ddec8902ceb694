"""The API key scope of the referral API's integration calls (Feature.api_scopes)."""

SCOPE = "referrals"
