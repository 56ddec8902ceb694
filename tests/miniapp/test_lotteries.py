"""Draws in the Mini App over HTTP: my accounts and wins, results, and the proof the browser
recomputes (checked here by verify.js under Node against draws.verify)."""

from __future__ import annotations

import httpx

from bozor.lotteries import accounts, draws, service
from bozor.testing import Harness, account_number
from bozor.users import service as users_service

from .conftest import as_user
from .test_verify_js import run_js

CARD = "7777"


async def drawn_lottery_with_member(bozor: Harness, telegram_id: int) -> int:
    """A drawn lottery of 40 accounts, the first 30 on the member's card (so they win)."""
    async with bozor.db() as session:
        user, _ = await users_service.upsert_from_telegram(
            session=session, profile=users_service.TelegramProfile(telegram_id, "Member")
        )
        await accounts.register(session=session, user=user, club_card=CARD, phone=None)
        lottery = await service.create(
            session=session, title="Spring", prizes=["Car", "TV", "Phone"]
        )
        lines = [
            service.ImportLine(i, CARD if i <= 30 else None, account_number(i))
            for i in range(1, 41)
        ]
        await service.import_accounts(
            session=session, lines=lines, lottery_id=lottery.id, actor=None
        )
        await draws.draw(session=session, lottery_id=lottery.id)
        await session.commit()
        return int(lottery.id)


async def test_my_accounts_wins_results_and_a_proof_that_recomputes(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    member = 5001
    lottery_id = await drawn_lottery_with_member(bozor, member)
    me = as_user(member, first_name="Member")

    overview = await app.get("/api/lotteries", headers=me)
    assert overview.status_code == 200
    assert account_number(1) in overview.text
    assert "Took part in 1 draw" in overview.text
    assert "Confirm by" in overview.text  # a pending win shows its claim deadline
    assert f"/app/lotteries/{lottery_id}" in overview.text

    stranger = as_user(5002, first_name="Stranger", language_code="ru")
    theirs = await app.get("/api/lotteries", headers=stranger)
    assert account_number(1) not in theirs.text  # only the viewer's own accounts
    assert "/register" in theirs.text

    results = await app.get(f"/api/lotteries/{lottery_id}", headers=me)
    assert 'data-module="verify"' in results.text
    proof = (await app.get(f"/api/lotteries/{lottery_id}/proof", headers=me)).json()
    async with bozor.db() as session:
        report = await draws.verify(session=session, lottery_id=lottery_id)
    assert report.ok
    (recomputed,) = run_js([{"proof": proof}])
    assert recomputed["ok"] and recomputed["seedOk"]
    by_place = {(row["round"], row["place"]): row["number"] for row in recomputed["rows"]}
    assert by_place == report.expected

    # The proof of an undrawn lottery is refused; without initData nothing is said.
    async with bozor.db() as session:
        open_one = await service.create(session=session, title="Later", prizes=["Mug"])
        await session.commit()
    assert (await app.get(f"/api/lotteries/{open_one.id}/proof", headers=me)).status_code == 409
    assert (await app.get(f"/api/lotteries/{lottery_id}/proof")).status_code == 401
