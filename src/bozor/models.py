"""Imports every model so that Alembic and `Base.metadata` see all tables."""

from bozor.api.models import IdempotentResponse
from bozor.apikeys.models import ApiKey
from bozor.events.models import DomainEvent
from bozor.ledger.models import LedgerEntry
from bozor.lotteries.models import (
    Account,
    AuditEntry,
    Lottery,
    Member,
    Participation,
    Prize,
    Win,
)
from bozor.outbox.models import OutboxMessage
from bozor.referrals.models import Campaign, Click, Referral, ReferralLink, Reward, RewardProgram
from bozor.users.models import User
from bozor.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "Campaign",
    "Click",
    "DomainEvent",
    "IdempotentResponse",
    "LedgerEntry",
    "Lottery",
    "Member",
    "OutboxMessage",
    "Participation",
    "Prize",
    "Referral",
    "ReferralLink",
    "Reward",
    "RewardProgram",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Win",
]
