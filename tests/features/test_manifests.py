"""The core is assembled from the enabled features' manifests only: a disabled feature has no
routes, commands, menu buttons, jobs or CLI sub-commands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jinja2 import TemplateNotFound
from typer.testing import CliRunner

from bozor.cli import create_cli
from bozor.dashboard import web as dashboard_web
from bozor.features import FEATURES, enabled
from bozor.i18n import Translator
from bozor.settings import Settings
from bozor.testing import ADMIN_ID, Harness, api_url, free_port, new_api_key, reply_buttons


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"features": ["referrals"], "http_port": free_port()}


async def test_a_disabled_feature_has_no_routes_commands_or_buttons(bozor: Harness) -> None:
    key = await new_api_key(bozor, "admin", "referrals")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as api:
        assert (await api.get("/api/v1/admin/shop/products")).status_code == 404
        assert (await api.get("/api/v1/admin/lotteries")).status_code == 404
        assert (await api.get("/api/v1/admin/classifieds/ads")).status_code == 404
        assert (await api.get("/api/v1/admin/referrals")).status_code == 200
        paths = (await api.get("/openapi.json")).json()["paths"]
    assert not [
        path for path in paths if "/shop" in path or "/lotteries" in path or "/classifieds" in path
    ]
    for language in ("en", "ru", "uz"):
        commands = [c["command"] for c in await bozor.driver.commands(language_code=language)]
        assert commands == ["start", "ref", "top", "help", "language"]
    member = await bozor.driver.create_user("Dilnoza", language_code="en")
    await bozor.start(member)
    assert await reply_buttons(bozor, member) == [
        "🤝 Invite friends",
        "🏆 Leaderboard",
        "🌐 Language",
        "❓ Help",
    ]
    sent = await bozor.driver.send_message(member, "/buy")  # the shop's command: unknown here
    answer = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert answer["text"] == "I did not understand that. Press a button below or send /help."


async def test_the_enabled_features_follow_the_setting() -> None:
    names = [feature.name for feature in enabled(Settings(features="shop,referrals"))]
    assert names == ["referrals", "shop"]
    assert [feature.name for feature in enabled(Settings())] == [f.name for f in FEATURES]


def test_a_disabled_feature_has_no_cli_sub_commands() -> None:
    runner = CliRunner()
    only_referrals = create_cli(enabled(Settings(features="referrals")))
    assert runner.invoke(only_referrals, ["shop", "--help"]).exit_code == 2
    assert runner.invoke(only_referrals, ["lottery", "--help"]).exit_code == 2
    everything = create_cli(FEATURES)
    assert runner.invoke(everything, ["shop", "--help"]).exit_code == 0
    assert runner.invoke(everything, ["lottery", "--help"]).exit_code == 0


async def test_a_disabled_feature_has_no_line_and_no_admin_commands(bozor: Harness) -> None:
    t = Translator("ru")
    await bozor.driver.create_user("Admin", user_id=ADMIN_ID, language_code="ru")
    for chat in (ADMIN_ID, await bozor.driver.create_user("Olga", language_code="ru")):
        welcome = (await bozor.start(chat))["text"]
        sent = await bozor.driver.send_message(chat, "/help")
        help_text = await bozor.driver.wait_for_message(chat, after_message_id=sent["message_id"])
        for text in (welcome, help_text["text"]):
            assert t("about.referrals.intro") in text
            for other in ("lotteries", "shop", "classifieds"):
                assert t(f"about.{other}.intro") not in text
                assert t(f"about.{other}.title") not in text
            assert ("/broadcast" in text) == (chat == ADMIN_ID)
            assert "/draw" not in text and "/ads_queue" not in text and "/stock" not in text
    admin_menu = [c["command"] for c in await bozor.driver.visible_commands(ADMIN_ID, "ru")]
    assert admin_menu == ["start", "ref", "top", "help", "language", "broadcast"]


def test_dashboard_templates_live_in_their_feature() -> None:
    """A feature's dashboard pages are in its package (Feature.dashboard_templates), and only
    the enabled features' are loadable."""
    for feature in FEATURES:
        assert not (dashboard_web.TEMPLATES / feature.name).exists(), feature.name
        if feature.sections:
            assert feature.dashboard_templates is not None
            assert feature.dashboard_templates.is_dir()
    shop_only = dashboard_web.environment(
        {
            f.name: f.dashboard_templates
            for f in FEATURES
            if f.name == "shop" and f.dashboard_templates
        }
    )
    shop_only.get_template("shop/index.html")
    shop_only.get_template("base.html")  # the core's
    with pytest.raises(TemplateNotFound):
        shop_only.get_template("lotteries/index.html")
