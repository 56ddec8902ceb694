"""Imports every model so that Alembic and `Base.metadata` see all tables."""

from bozor.apikeys.models import ApiKey
from bozor.audit.models import AuditRecord
from bozor.botidentity.models import BotIdentity
from bozor.broadcasts.models import Broadcast, Delivery
from bozor.classifieds.models import (
    Ad,
    AdminCopy,
    AdPhoto,
    Ban,
    ChannelPost,
    RepostSlot,
    SoldCheck,
)
from bozor.classifieds.search_models import AdAlert, ContactMessage, ContactThread, SavedSearch
from bozor.dashboard.models import DashboardSession, LoginProof, SigninFailure
from bozor.events.models import DomainEvent
from bozor.idempotency import IdempotentResponse
from bozor.ledger.models import LedgerEntry
from bozor.lotteries.models import (
    Account,
    Lottery,
    Member,
    Participation,
    Prize,
    Win,
)
from bozor.outbox.models import OutboxMessage
from bozor.referrals.models import Campaign, Click, Referral, ReferralLink, Reward, RewardProgram
from bozor.shop.models import (
    Category,
    Code,
    FaqEntry,
    Order,
    Payment,
    Product,
    Ticket,
    TicketMessage,
)
from bozor.updates.models import ProcessedUpdate
from bozor.users.models import User
from bozor.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "Ad",
    "AdAlert",
    "AdPhoto",
    "AdminCopy",
    "ApiKey",
    "AuditRecord",
    "Ban",
    "BotIdentity",
    "Broadcast",
    "Campaign",
    "Category",
    "ChannelPost",
    "Click",
    "Code",
    "ContactMessage",
    "ContactThread",
    "DashboardSession",
    "Delivery",
    "DomainEvent",
    "FaqEntry",
    "IdempotentResponse",
    "LedgerEntry",
    "LoginProof",
    "Lottery",
    "Member",
    "Order",
    "OutboxMessage",
    "Participation",
    "Payment",
    "Prize",
    "ProcessedUpdate",
    "Product",
    "Referral",
    "ReferralLink",
    "RepostSlot",
    "Reward",
    "RewardProgram",
    "SavedSearch",
    "SigninFailure",
    "SoldCheck",
    "Ticket",
    "TicketMessage",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Win",
]
