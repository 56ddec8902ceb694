"""Referrals in Telegram: the members' handlers (member.py: /start with a code, /ref, /top, the
channel check), their texts and keyboards (texts_and_keyboards.py) and the outbox's renderers
(renderers.py). Admins manage referrals through the admin API and the dashboard."""

from bozor.referrals.bot.member import create_router
from bozor.referrals.bot.renderers import RENDERERS

__all__ = ["RENDERERS", "create_router"]
