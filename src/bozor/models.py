"""Imports every model so that Alembic and `Base.metadata` see all tables."""

from bozor.outbox.models import OutboxMessage
from bozor.referrals.models import Referral
from bozor.users.models import User

__all__ = ["OutboxMessage", "Referral", "User"]
