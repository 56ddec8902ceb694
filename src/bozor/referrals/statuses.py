"""States of referrals and rewards: plain enums, shared by the models, the API and the client."""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    PENDING = "pending"  # waiting for a condition (channel subscription, review)
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class RewardStatus(StrEnum):
    GRANTED = "granted"  # earned, waiting to be claimed
    CLAIMED = "claimed"  # credited to the user's bonus balance
