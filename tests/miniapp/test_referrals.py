"""Referrals in the Mini App over HTTP: link, QR, figures, leaderboard, rewards with claim."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from bozor.ledger import service as ledger
from bozor.referrals.models import Reward
from bozor.testing import Harness
from bozor.users import service as users_service

from .conftest import as_user


async def test_link_qr_figures_leaderboard_and_claiming_once(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    for i in range(2):
        await bozor.start(await bozor.user(f"Friend{i}"), code)
    me = as_user(alice, first_name="Alice")

    page = await app.get("/api/referrals", headers=me)
    assert page.status_code == 200
    assert f"?start={code}" in page.text
    assert 'src="data:image/svg+xml' in page.text
    assert re.search(r'data-testid="invited">2<', page.text)
    assert re.search(r'data-testid="confirmed">2<', page.text)
    assert "Alice (you)" in page.text  # on the leaderboard

    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=alice)
        assert user is not None
        reward = await session.scalar(select(Reward).where(Reward.user_id == user.id).limit(1))
        assert reward is not None
    # Someone else cannot claim it; its owner claims it once.
    other = as_user(await bozor.user("Mallory"), first_name="Mallory")
    refused = await app.post(f"/api/referrals/rewards/{reward.id}/claim", headers=other)
    assert refused.status_code == 403 and 'data-testid="error"' in refused.text
    claimed = await app.post(f"/api/referrals/rewards/{reward.id}/claim", headers=me)
    assert claimed.json() == {"go": "/referrals"}
    again = await app.post(f"/api/referrals/rewards/{reward.id}/claim", headers=me)
    assert again.status_code == 409
    async with bozor.db() as session:
        assert await ledger.balance(session=session, user_id=user.id) == reward.amount
    assert (
        f'data-testid="claimed-{reward.id}"' in (await app.get("/api/referrals", headers=me)).text
    )
