"""The Mini App core: initData checked on every view, the shell, assets, the home view."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from aiogram.utils.web_app import check_webapp_signature

from bozor.telegram_webapp import InitDataRefused, verify
from bozor.testing import TEST_BOT_TOKEN, Harness
from bozor.users import service as users_service

from .conftest import as_user, init_data

OTHER_TOKEN = "7000000002:AAother-token-0123456789abcdefXYZabc"


def test_signed_init_data_passes_aiograms_check() -> None:
    assert check_webapp_signature(TEST_BOT_TOKEN, init_data(5))
    assert not check_webapp_signature(OTHER_TOKEN, init_data(5))


def test_verify_refuses_forged_stale_missing_and_future() -> None:
    now = time.time()
    assert verify(TEST_BOT_TOKEN, init_data(7), max_age=60).user.id == 7
    reasons = []
    for data, max_age in [
        (None, 60.0),
        ("", 60.0),
        (init_data(7, token=OTHER_TOKEN), 60.0),
        (init_data(7).replace("Tester", "Forger"), 60.0),
        (init_data(7, auth_date=int(now) - 120), 60.0),
        (init_data(7, auth_date=int(now) + 3600), 60.0),
        ("user=1&hash=00", 60.0),
    ]:
        with pytest.raises(InitDataRefused) as refused:
            verify(TEST_BOT_TOKEN, data, max_age=max_age, now=now)
        reasons.append(refused.value.reason)
    assert reasons[:2] == ["missing", "missing"]
    assert reasons[4] == "stale"
    assert reasons[5] == "from the future"


async def test_views_refuse_missing_forged_and_stale_init_data(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    stale = int(time.time()) - 86400 - 60
    for headers in [
        {},
        {"X-Telegram-Init-Data": "garbage"},
        as_user(11, token=OTHER_TOKEN),
        {"X-Telegram-Init-Data": init_data(11).replace("Tester", "Mallory")},
        as_user(11, auth_date=stale),
    ]:
        for path in ("/api/", "/api/nowhere"):
            response = await app.get(path, headers=headers)
            assert response.status_code == 401, headers
            assert response.text == "Unauthorized"  # nothing about why, nothing of the app
            assert response.headers["www-authenticate"] == "tma"
    async with bozor.db() as session:  # refused requests store nobody
        assert await users_service.get_by_telegram_id(session=session, telegram_id=11) is None


async def test_home_view_greets_the_signed_in_user_in_their_language(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    response = await app.get("/api/", headers=as_user(21, first_name="Ali", language_code="uz"))
    assert response.status_code == 200
    assert "Salom, Ali!" in response.text
    assert 'data-lang="uz"' in response.text
    assert "no-store" in response.headers["cache-control"]
    # The language chosen in the bot wins over Telegram's.
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=21)
        assert user is not None
        await users_service.set_language(session=session, user=user, language="ru")
        await session.commit()
    response = await app.get("/api/", headers=as_user(21, first_name="Ali", language_code="uz"))
    assert "Здравствуйте, Ali!" in response.text
    missing = await app.get("/api/nowhere", headers=as_user(21))
    assert missing.status_code == 404
    assert "data-page" in missing.text


async def test_shell_and_assets_are_served_from_the_package(app: httpx.AsyncClient) -> None:
    shell = await app.get("/shop/purchases")
    assert shell.status_code == 200
    assert '<script src="/app/static/telegram-web-app.js' in shell.text
    texts = json.loads(shell.text.split('id="shell-texts">')[1].split("</script>")[0])
    assert texts["ru"]["outside"].startswith("Откройте эту страницу из бота")  # every language
    assert "script-src 'self'" in shell.headers["content-security-policy"]
    for name in ("telegram-web-app.js", "miniapp.js", "miniapp.css"):
        asset = await app.get(f"/static/{name}")
        assert asset.status_code == 200, name
    assert "window.Telegram.WebApp" in (await app.get("/static/telegram-web-app.js")).text
    assert (await app.get("/static/secret.py")).status_code == 404
    redirect = await app.get(app.base_url.copy_with(path="/app"), follow_redirects=False)
    assert redirect.status_code == 307
