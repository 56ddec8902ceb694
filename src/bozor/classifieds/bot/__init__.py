"""Classifieds in Telegram: the advertiser's side (member.py, with the "Post an ad" dialogue in
dialogue.py), the admins' review (admin.py), the texts and keyboards both render
(texts_and_keyboards.py) and the outbox's renderers (renderers.py)."""

from bozor.classifieds.bot.member import create_router
from bozor.classifieds.bot.renderers import create_renderers

__all__ = ["create_renderers", "create_router"]
