"""Imports every model so that Alembic and `Base.metadata` see all tables."""

from bozor.apikeys.models import ApiKey
from bozor.ledger.models import LedgerEntry
from bozor.outbox.models import OutboxMessage
from bozor.referrals.models import Click, Referral, Reward
from bozor.users.models import User

__all__ = ["ApiKey", "Click", "LedgerEntry", "OutboxMessage", "Referral", "Reward", "User"]
