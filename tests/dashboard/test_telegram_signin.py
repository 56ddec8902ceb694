"""Sign in with Telegram: the Login Widget's answer is checked with the bot token, must be
fresh and used once, and its id must be in ADMIN_IDS; the emulator plays the widget (its
/oauth page and its control API), as the demo does."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.dashboard.test_dashboard import PASSWORD

from bozor import telegram_login
from bozor.audit import service as audit
from bozor.dashboard import sessions
from bozor.emulator import Emulator
from bozor.testing import ADMIN_ID, TEST_BOT_TOKEN, Harness, free_port, start_bozor

CALLBACK = "/dashboard/signin/telegram"


@pytest.fixture
def bozor_overrides(emulator: Emulator) -> dict[str, Any]:
    return {
        "http_port": free_port(),
        "dashboard_password": PASSWORD,
        "dashboard_telegram_login_url": f"{emulator.url}/oauth",
    }


def test_the_signature_is_telegrams() -> None:
    """Computed here as https://core.telegram.org/widgets/login#checking-authorization says."""
    fields = {"id": "42", "first_name": "Ann", "username": "ann", "auth_date": "1700000000"}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hashlib.sha256(TEST_BOT_TOKEN.encode()).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    assert telegram_login.signed(TEST_BOT_TOKEN, fields)["hash"] == expected
    login = telegram_login.verify(
        TEST_BOT_TOKEN, {**fields, "hash": expected}, max_age=60, now=1700000030
    )
    assert login.id == 42 and login.name == "Ann (@ann)"
    for changed in ({"id": "43"}, {"hash": "0" * 64}, {"first_name": "Bob"}):
        with pytest.raises(telegram_login.LoginRefused, match="bad_signature"):
            telegram_login.verify(
                TEST_BOT_TOKEN, {**fields, "hash": expected, **changed}, max_age=60, now=1700000030
            )
    with pytest.raises(telegram_login.LoginRefused, match="stale"):
        telegram_login.verify(
            TEST_BOT_TOKEN, {**fields, "hash": expected}, max_age=60, now=1700000061
        )


async def test_an_admin_signs_in_through_the_emulators_login_page(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    admin = await bozor.driver.create_user("Ada", username="ada", user_id=ADMIN_ID)
    member = await bozor.driver.create_user("Mallory")
    page = await web.get("/dashboard/signin")
    assert "<script" not in page.text  # no widget script: the emulator plays it
    link = re.search(r'href="([^"]+)" data-testid="signin-telegram"', page.text)
    assert link is not None
    login_page_url = link.group(1).replace("&amp;", "&")
    assert login_page_url.startswith(f"{bozor.emulator.url}/oauth?bot_id=7000000001")
    async with httpx.AsyncClient() as browser:
        login_page = await browser.get(login_page_url)
    assert login_page.status_code == 200 and "Ada" in login_page.text
    links = re.findall(r'<a href="([^"]+)" data-user-id="(\d+)"', login_page.text)
    choices = {int(uid): href.replace("&amp;", "&") for href, uid in links}
    # A member who is not an admin is refused (and it is recorded).
    refused = await web.get(_local(choices[member]))
    assert refused.status_code == 401 and "not a dashboard admin" in refused.text
    assert sessions.SESSION_COOKIE not in refused.cookies
    # The admin is let in, and named by Telegram.
    answer = await web.get(_local(choices[admin]))
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/"
    sessions_page = await web.get("/dashboard/sessions")
    assert sessions_page.status_code == 200 and "Ada (@ada)" in sessions_page.text
    # The same answer cannot sign in again (someone who saw the URL).
    async with httpx.AsyncClient(base_url=str(web.base_url)) as thief:
        replayed = await thief.get(_local(choices[admin]))
        assert replayed.status_code == 401 and "already used" in replayed.text
    async with bozor.db() as session:
        records = await audit.entries(session=session, area="dashboard")
    outcome = [(r.action, r.actor, r.details.get("reason")) for r in reversed(records)]
    assert outcome == [
        ("signin_failed", f"telegram:{member}", "not_admin"),
        ("signin", f"telegram:{admin}", None),
        ("signin_failed", f"telegram:{admin}", "replayed"),
    ]


def _local(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == CALLBACK
    return f"{parts.path}?{parts.query}"


async def test_forged_stale_and_unsigned_answers_are_refused(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    await bozor.driver.create_user("Ada", user_id=ADMIN_ID)
    fresh = await bozor.driver.telegram_login(ADMIN_ID)
    assert set(fresh) >= {"id", "first_name", "auth_date", "hash"}
    forged = {**fresh, "id": "900000002"}  # someone else's id under Ada's hash
    stale = await bozor.driver.telegram_login(ADMIN_ID, auth_date=int(time.time()) - 2 * 86400)
    other_bot = telegram_login.signed("123:another-bots-token", {**fresh})
    for query in (forged, stale, other_bot, {"id": str(ADMIN_ID)}):
        answer = await web.get(CALLBACK, params=query)
        assert answer.status_code == 401, query
        assert "Telegram did not confirm this sign-in" in answer.text
    assert (await web.get(CALLBACK, params=fresh)).status_code == 303
    assert (await web.get("/dashboard/")).status_code == 200


async def test_leaving_admin_ids_ends_a_telegram_session(
    bozor: Harness, web: httpx.AsyncClient, emulator: Emulator, database_url: str
) -> None:
    await bozor.driver.create_user("Ada", user_id=ADMIN_ID)
    assert (
        await web.get(CALLBACK, params=await bozor.driver.telegram_login(ADMIN_ID))
    ).status_code == 303
    cookie = web.cookies.get(sessions.SESSION_COOKIE)
    assert cookie is not None
    port = free_port()
    async with (
        start_bozor(emulator, database_url, bozor.db, http_port=port, admin_ids=[1]),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other,
    ):
        other.cookies.set(sessions.SESSION_COOKIE, cookie, path="/dashboard")
        assert (await other.get("/dashboard/")).status_code == 303
    assert (await web.get("/dashboard/")).status_code == 303  # ended, not just refused there


async def test_the_real_widget_is_shown_only_when_a_bot_username_is_set(
    emulator: Emulator, database_url: str, bozor: Harness
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as web:
        # This instance has the emulator play it: no script from telegram.org anywhere.
        page = await web.get("/dashboard/signin")
        assert "signin-telegram" in page.text
        assert "script-src 'none'" in page.headers["content-security-policy"]
    port = free_port()
    async with (
        start_bozor(
            emulator,
            database_url,
            bozor.db,
            http_port=port,
            admin_ids=[ADMIN_ID],
            dashboard_telegram_login="@bozor_test_bot",
        ),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web,
    ):
        page = await web.get("/dashboard/signin")
        assert 'data-telegram-login="bozor_test_bot"' in page.text
        assert f'data-auth-url="http://127.0.0.1:{port}{CALLBACK}"' in page.text
        csp = page.headers["content-security-policy"]
        assert (
            "script-src https://telegram.org" in csp
            and "frame-src https://oauth.telegram.org" in csp
        )
        # Other pages stay script-free.
        assert "script-src 'none'" in (await web.get("/dashboard/static/x")).headers.get(
            "content-security-policy", "script-src 'none'"
        )
    port = free_port()
    async with (
        start_bozor(emulator, database_url, bozor.db, http_port=port, admin_ids=[ADMIN_ID]),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web,
    ):
        page = await web.get("/dashboard/signin")
        assert "telegram" not in page.text.lower().split("<form")[1]
        assert (await web.get(CALLBACK, params={"id": "1"})).status_code == 404
