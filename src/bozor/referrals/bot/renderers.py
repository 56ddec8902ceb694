"""Referral notices of the outbox: one message for a batch of joins, pendings or confirmations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.i18n import Translator
from bozor.outbox.worker import Outgoing, Renderer
from bozor.referrals import hooks, service
from bozor.users import service as users_service


def _renderer(single_key: str, many_key: str) -> Renderer:
    async def render(
        session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
    ) -> Outgoing | None:
        referrer = await users_service.get_by_id(session=session, user_id=batch[0]["user_id"])
        if referrer is None:
            return None
        t = Translator(users_service.language_of(referrer))
        total = await service.confirmed_count(session=session, user_id=referrer.id)
        names = [str(params["name"]) for params in batch]
        if len(names) == 1:
            return Outgoing(t(single_key, name=names[0], total=total))
        shown = ", ".join(names[:10])
        if len(names) > 10:
            shown = t("notify.and_more", names=shown, more=len(names) - 10)
        return Outgoing(t(many_key, count=len(names), names=shown, total=total))

    return render


RENDERERS: dict[str, Renderer] = {
    hooks.NOTIFY_JOINED: _renderer("notify.referral_joined", "notify.referrals_joined"),
    hooks.NOTIFY_PENDING: _renderer("notify.referral_pending", "notify.referrals_pending"),
    hooks.NOTIFY_CONFIRMED: _renderer("notify.referral_confirmed", "notify.referrals_confirmed"),
}
