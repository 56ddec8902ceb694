"""States of referrals and rewards: plain enums, shared by the models, the API and the client."""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    PENDING = "pending"  # waiting for a condition the user meets (a channel subscription)
    REVIEW = "review"  # held for an admin: velocity limits or a validator found it suspicious
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # by an admin, with a reason; the user stays referred (once, ever)


class RewardStatus(StrEnum):
    GRANTED = "granted"  # earned, waiting to be claimed
    CLAIMED = "claimed"  # credited to the user's bonus balance
