"""The shop in the bot: members' handlers (member.py), admins' (admin.py), the texts and
keyboards they render (texts_and_keyboards.py) and the outbox's renderers (renderers.py)."""

from bozor.shop.bot.member import create_router
from bozor.shop.bot.renderers import renderers

__all__ = ["create_router", "renderers"]
