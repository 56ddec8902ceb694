"""Prize draws in Telegram: members' handlers (member.py: registration, accounts, winner
confirmation), admins' (admin.py), keyboards (texts_and_keyboards.py) and the outbox's
renderers (renderers.py)."""

from aiogram import Router

from bozor.lotteries.bot import admin, member
from bozor.lotteries.bot.renderers import RENDERERS
from bozor.settings import Settings

__all__ = ["RENDERERS", "create_router"]


def create_router(settings: Settings) -> Router:
    """Members' handlers first, then admins' (each router answers its flows' free text last)."""
    router = Router(name="lotteries")
    router.include_routers(member.create_router(settings), admin.create_router(settings))
    return router
