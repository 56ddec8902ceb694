"""Guessing is slowed: failed sign-ins lock the account and the IP out, exponentially, on
every instance (database or Redis); while locked, even the right secret is refused (429 with
Retry-After and a translated message). Every attempt is in the audit log."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.dashboard.test_dashboard import PASSWORD, sign_in

from bozor.audit import service as audit
from bozor.dashboard.backoff import lock_seconds
from bozor.emulator import Emulator
from bozor.settings import Settings
from bozor.testing import ADMIN_ID, Harness, eventually, free_port, new_api_key, start_bozor


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "dashboard_password": PASSWORD}


def test_the_lock_doubles_up_to_its_cap() -> None:
    settings = Settings()  # 5 free failures, then 60 s, doubling, at most an hour
    assert [lock_seconds(settings, n) for n in range(1, 9)] == [0, 0, 0, 0, 60, 120, 240, 480]
    assert lock_seconds(settings, 100) == 3600


async def test_fewer_than_20_guesses_a_minute_and_the_right_password_waits(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    """With the default settings: a burst of 40 guesses from one IP."""
    answers = [await sign_in(web, f"guess {i}") for i in range(40)]
    assert {a.status_code for a in answers} == {401, 429}
    locked = [a for a in answers if a.status_code == 429]
    # Five were checked (four answered 401, the fifth failure locked the account for a minute
    # and answered 429), the other 35 waited unchecked: far fewer than 20 a minute.
    assert len(answers) - len(locked) == 4
    assert int(locked[0].headers["retry-after"]) >= 59
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in locked)
    assert re.search(r"Try again in \d+ seconds", locked[-1].text)
    # The right password is refused too while the lock lasts.
    right = await sign_in(web, PASSWORD)
    assert right.status_code == 429 and "bozor_dashboard=" not in right.headers.get(
        "set-cookie", ""
    )
    async with bozor.db() as session:
        records = await audit.entries(session=session, area="dashboard", limit=1000)
    assert sum(r.action == "signin_failed" for r in records) == 5
    assert sum(r.action == "signin_refused" for r in records) == 35 + 1
    assert all(r.ip == "127.0.0.1" and r.actor == "password" for r in records)
    assert not any(PASSWORD in str(r.details) or "guess" in str(r.details) for r in records)


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_a_lock_out_ends_and_the_right_password_then_works(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    store: str,
    store_settings: dict[str, Any],
) -> None:
    extra = store_settings
    port = free_port()
    settings = {
        "http_port": port,
        "admin_ids": [ADMIN_ID],
        "dashboard_password": PASSWORD,
        "dashboard_signin_free_failures": 3,
        "dashboard_signin_lock_seconds": 2.0,
        **extra,
    }
    async with (
        start_bozor(emulator, database_url, db, **settings) as bozor,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Accept-Language": "ru"}
        ) as web,
    ):
        for _ in range(2):
            assert (await sign_in(web, "wrong")).status_code == 401
        third = await sign_in(web, "wrong")
        assert third.status_code == 429  # this failure locks
        assert "Слишком много неудачных попыток входа" in third.text
        assert 1 <= int(third.headers["retry-after"]) <= 2
        right = await sign_in(web, PASSWORD)
        assert right.status_code == 429
        # The IP is locked for the other accounts too (an API key here).
        key = await new_api_key(bozor, "admin")
        assert (await sign_in(web, key)).status_code == 429

        async def let_in() -> bool:
            return (await sign_in(web, PASSWORD)).status_code == 303

        await eventually(let_in, timeout=30, every=0.5)
        assert (await web.get("/dashboard/")).status_code == 200
        # Success forgot the failures: three more are needed to lock again.
        web.cookies.clear()
        assert (await sign_in(web, "wrong")).status_code == 401

        # Another instance on the same store sees the same count.
        other_port = free_port()
        async with (
            start_bozor(emulator, database_url, db, **{**settings, "http_port": other_port}),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{other_port}") as other,
        ):
            assert (await sign_in(other, "wrong")).status_code == 401
            locking = await sign_in(other, "wrong")
            assert locking.status_code == 429 and int(locking.headers["retry-after"]) <= 2
            assert (await sign_in(web, PASSWORD)).status_code == 429

            # The next failure after the lock doubles it: 4 s.
            async def doubled() -> bool:
                answer = await sign_in(other, "wrong")
                assert answer.status_code == 429
                return int(answer.headers["retry-after"]) >= 3

            await eventually(doubled, timeout=30, every=0.5)


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_guesses_sent_all_at_once_get_five_checks(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    store: str,
    store_settings: dict[str, Any],
) -> None:
    extra = store_settings
    port = free_port()
    async with (
        start_bozor(
            emulator,
            database_url,
            db,
            http_port=port,
            admin_ids=[ADMIN_ID],
            dashboard_password=PASSWORD,
            api_rate_per_ip=0,
            **extra,
        ),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as web,
    ):
        page = await web.get("/dashboard/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None

        async def guess(i: int) -> int:
            form = {"csrf": token.group(1), "secret": f"guess {i}", "next": "/dashboard/"}
            return (await web.post("/dashboard/signin", data=form)).status_code

        answers = await asyncio.gather(*(guess(i) for i in range(30)))
        assert set(answers) <= {401, 429}
    async with db() as session:
        records = await audit.entries(session=session, area="dashboard", limit=100)
    assert sum(r.action == "signin_failed" for r in records) == 5  # checked: five, not 30
    assert sum(r.action == "signin_refused" for r in records) == 25


async def test_the_audit_page_lists_sign_ins_by_area(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    assert (await sign_in(web, "hunter2")).status_code == 401
    key = await new_api_key(bozor, "admin")
    assert (await sign_in(web, key)).status_code == 303
    page = await web.get("/dashboard/audit", params={"area": "dashboard"})
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>.*?</td><td>Dashboard</td><td>([^<]+)</td>", page.text)
    assert rows == ["Signed in", "Sign-in failed"]  # newest first
    assert key not in page.text and "hunter2" not in page.text
    assert "method: api_key" in page.text and "reason: wrong_password" in page.text
    other = await web.get("/dashboard/audit", params={"area": "shop"})
    assert other.status_code == 200 and "Signed in" not in other.text.split("<table>")[-1]
    for language, failed in (("ru", "Неудачный вход"), ("uz", "Kirish muvaffaqiyatsiz")):
        shown = await web.get(
            "/dashboard/audit", params={"area": "dashboard"}, headers={"Accept-Language": language}
        )
        table = shown.text.split("<table>")[-1]
        assert failed in table and "signin_failed" not in table and "{" not in table
