"""The lottery admin API over HTTP and the `bozor lottery` / `bozor db` commands, against a
real database (both backends)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from bozor.lotteries import draws, service
from bozor.lotteries.models import Account, Participation
from bozor.lotteries.testing import account_number, make_lottery
from bozor.testing import Harness, free_port

ADMIN = "/api/v1/admin"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("admin",)


async def bozor_cli(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": "false",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bozor",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), 60
    )
    assert process.returncode is not None
    return process.returncode, out.decode()


async def drawn_lottery(bozor: Harness, participants: int = 20, places: int = 3) -> int:
    lottery_id = await make_lottery(bozor.db, participants, places)
    async with bozor.db() as session:
        await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
    return lottery_id


async def test_verify_cli_and_api(bozor: Harness, api: httpx.AsyncClient) -> None:
    url = bozor.settings.database_url
    lottery_id = await drawn_lottery(bozor)

    code, out = await bozor_cli(url, "lottery", "verify", str(lottery_id))
    assert code == 0, out
    assert "OK" in out and "DIFFERS" not in out

    response = await api.get(f"{ADMIN}/lotteries/{lottery_id}/verification")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["problems"] == []
    assert body["participants_count"] == 20
    assert body["participants_hash"] == body["participants_hash_recomputed"]
    assert [(w["round"], w["place"]) for w in body["winners"]] == [(0, 1), (0, 2), (0, 3)]
    assert all(w["matches"] and w["recorded"] for w in body["winners"])
    async with bozor.db() as session:
        lottery = await service.get(session=session, lottery_id=lottery_id)
        assert body["seed"] == lottery.seed and body["seed_hash"] == lottery.seed_hash

    # a participant taken out of the frozen list: both notice, and say what differs
    async with bozor.db() as session:
        loser = await session.scalar(select(Account.id).where(Account.number == account_number(7)))
        await session.execute(delete(Participation).where(Participation.account_id == loser))
        await session.commit()
    code, out = await bozor_cli(url, "lottery", "verify", str(lottery_id))
    assert code == 1, out
    assert "DIFFERS: the participant list hashes to" in out
    body = (await api.get(f"{ADMIN}/lotteries/{lottery_id}/verification")).json()
    assert body["ok"] is False and body["participants_hash_ok"] is False
    assert "participant list does not match the published hash" in body["problems"]

    # not drawn, unknown
    open_id = await make_lottery(bozor.db, 3)
    code, out = await bozor_cli(url, "lottery", "verify", str(open_id))
    assert code == 2, out
    assert (await api.get(f"{ADMIN}/lotteries/{open_id}/verification")).status_code == 409
    assert (await api.get(f"{ADMIN}/lotteries/999999/verification")).status_code == 404
    code, out = await bozor_cli(url, "lottery", "verify", "999999")
    assert code == 2, out


async def test_verify_notices_a_changed_winner(bozor: Harness, api: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from bozor.lotteries.models import Win

    lottery_id = await drawn_lottery(bozor)
    async with bozor.db() as session:
        winners = set(await session.scalars(select(Win.account_id)))
        other = await session.scalar(select(Account.id).where(Account.id.not_in(winners)).limit(1))
        await session.execute(
            update(Win).where(Win.lottery_id == lottery_id, Win.place == 2).values(account_id=other)
        )
        await session.commit()
    code, out = await bozor_cli(bozor.settings.database_url, "lottery", "verify", str(lottery_id))
    assert code == 1, out
    assert "DIFFERS: round 0 place 2: recorded" in out
    body = (await api.get(f"{ADMIN}/lotteries/{lottery_id}/verification")).json()
    assert body["winners_ok"] is False
    assert [w["place"] for w in body["winners"] if not w["matches"]] == [2]


async def test_lotteries_detail_audit_and_reports(bozor: Harness, api: httpx.AsyncClient) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bozor.db import utcnow
    from bozor.lotteries import accounts, wins
    from bozor.lotteries.models import Win
    from bozor.users.models import User

    lottery_id = await make_lottery(bozor.db, 2, places=2)  # both accounts win
    open_id = await make_lottery(bozor.db, 0, places=1)
    async with bozor.db() as session:
        user = User(telegram_id=4242, first_name="Ann", referral_code="annannann1")
        session.add(user)
        await session.flush()
        member = await accounts.register(session=session, user=user, club_card="2223", phone=None)
        await session.execute(update(Account).values(club_card="2223"))
        await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
    async with bozor.db() as session:
        await session.execute(
            update(Win)
            .where(Win.place == 2)
            .values(
                created_at=utcnow() - timedelta(hours=25),
                deadline_at=utcnow() - timedelta(hours=1),
            )
        )
        await session.commit()
    async with bozor.db() as session:
        # only place 1's account stays on the member's card: the admin confirms that one
        first = select(Win.account_id).where(Win.place == 1).scalar_subquery()
        await session.execute(update(Account).where(Account.id != first).values(club_card=None))
        await wins.confirm_by_admin(
            session=session, code=member.verification_code, lottery_id=lottery_id, admin=1
        )
        await session.commit()

    listing = (await api.get(f"{ADMIN}/lotteries")).json()
    assert [(item["id"], item["state"], item["participants"]) for item in listing] == [
        (open_id, "open", 0),
        (lottery_id, "drawn", 2),
    ]
    assert [i["id"] for i in (await api.get(f"{ADMIN}/lotteries?state=open")).json()] == [open_id]

    detail = (await api.get(f"{ADMIN}/lotteries/{lottery_id}")).json()
    assert detail["places"] == [{"place": 1, "prize": "Prize 1"}, {"place": 2, "prize": "Prize 2"}]
    statuses = {w["place"]: w["status"] for w in detail["winners"]}
    # place 2's claim window is over: the expiry job may have marked it expired already
    assert statuses[1] == "confirmed" and statuses[2] in ("pending", "expired")
    assert detail["fairness"]["seed"] and detail["fairness"]["participants_count"] == 2
    assert (await api.get(f"{ADMIN}/lotteries/{open_id}")).json()["fairness"]["seed"] is None
    assert (await api.get(f"{ADMIN}/lotteries/999999")).status_code == 404

    log = (await api.get(f"{ADMIN}/lotteries/{lottery_id}/audit")).json()
    actions = [entry["action"] for entry in log]
    assert actions[-1] == "lottery_created"
    assert {"drawn", "win_created", "accounts_imported"} <= set(actions)
    assert any(a.startswith("confirmed") for a in actions), actions
    assert (await api.get(f"{ADMIN}/lotteries/999999/audit")).status_code == 404

    by_card = (await api.get(f"{ADMIN}/lottery-reports/wins_by_card")).json()
    assert by_card["columns"] == ["club_card", "first_name", "total_wins", "claimed_wins"]
    assert by_card["rows"] == [["2223", "Ann", 1, 1]]
    participations = (await api.get(f"{ADMIN}/lottery-reports/participations")).json()
    assert sorted(row[0] for row in participations["rows"]) == [
        account_number(1),
        account_number(2),
    ]
    unclaimed = (await api.get(f"{ADMIN}/lottery-reports/unclaimed")).json()
    assert [(row[0], row[2]) for row in unclaimed["rows"]] == [(lottery_id, 2)]
    assert unclaimed["rows"][0][6] in ("pending", "expired")

    response = await api.get(f"{ADMIN}/lottery-reports/wins_by_card", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "club_card,first_name,total_wins,claimed_wins",
        "2223,Ann,1,1",
    ]
    assert (await api.get(f"{ADMIN}/lottery-reports/nope")).status_code == 422
    assert (await api.get(f"{ADMIN}/lotteries", headers={"X-API-Key": "bad"})).status_code == 401


async def test_db_clear_asks_then_deletes_every_row_keeping_the_schema(
    database_url: str, db: Any
) -> None:
    from sqlalchemy import func, text
    from sqlalchemy.engine import make_url

    from bozor.lotteries.models import Lottery

    await make_lottery(db, 3)
    word = os.path.basename(make_url(database_url).database or "")

    code, out = await bozor_cli(database_url, "db", "clear", stdin="nope\n")
    assert code == 1, out
    assert f"Type {word} to confirm" in out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 3

    code, out = await bozor_cli(database_url, "db", "clear", stdin=f"{word}\n")
    assert code == 0, out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0
        assert await session.scalar(select(func.count()).select_from(Lottery)) == 0
        assert await session.scalar(text("SELECT version_num FROM alembic_version"))

    await make_lottery(db, 2)  # the schema still works
    code, out = await bozor_cli(database_url, "db", "clear", "--yes")
    assert code == 0 and "cleared" in out, out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0


async def test_lottery_import_from_a_file_all_or_nothing(
    database_url: str, db: Any, tmp_path: Any
) -> None:
    from sqlalchemy import func

    from bozor.audit.models import AuditRecord

    lottery_id = await make_lottery(db, 0)
    good = tmp_path / "accounts.csv"
    good.write_text(
        "card,account\n"
        + "".join(f"2223,{account_number(i)}\n" for i in range(1, 4001))
        + f"{account_number(4001)}\n{account_number(1)}\n",  # a duplicate line counts once
        encoding="utf-8",
    )
    bad = tmp_path / "bad.txt"
    bad.write_text(
        f"{account_number(5000)}\n11-22-33\n{account_number(5001)}\nfoo bar baz\n", encoding="utf-8"
    )

    code, out = await bozor_cli(
        database_url, "lottery", "import", str(bad), "--lottery", str(lottery_id)
    )
    assert code == 1, out
    assert "Nothing was added: 2 line(s)" in out and "2, 4" in out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0

    code, out = await bozor_cli(
        database_url, "lottery", "import", str(good), "--lottery", str(lottery_id)
    )
    assert code == 0, out
    assert "importing" in out  # the progress bar
    assert "4002 lines: 4001 accounts added, 0 bound or re-activated, 4001 entered" in out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 4001
        assert (
            await session.scalar(select(func.count()).where(Participation.lottery_id == lottery_id))
            == 4001
        )
        assert (
            await session.scalar(
                select(func.count()).where(AuditRecord.action == "accounts_imported")
            )
            == 2
        )  # make_lottery's and this one

    # an account of another card: nothing of the file is saved
    other = tmp_path / "other.txt"
    other.write_text(f"{account_number(6000)}\n7777 {account_number(2)}\n", encoding="utf-8")
    code, out = await bozor_cli(database_url, "lottery", "import", str(other))
    assert code == 1, out
    assert "belongs to club card 2223" in out and "nothing saved" in out
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 4001
    code, out = await bozor_cli(database_url, "lottery", "import", str(tmp_path / "missing.csv"))
    assert code == 2, out


def test_the_import_command_leaves_the_bot_framework_unloaded() -> None:
    """`bozor lottery import` reads, checks and saves thousands of accounts in well under a
    second; loading aiogram, which it does not use, took ten times that on a busy machine."""
    code = (
        "import sys, bozor.cli, bozor.lotteries.cli, bozor.lotteries.notify, "
        "bozor.lotteries.service; print('aiogram' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"
