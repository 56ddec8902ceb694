"""What the bot shows of itself with every feature on: admins' command menus in their chat
scope and language, /start and /help listing each feature, and the compact main menu whose
submenus reach every feature's buttons."""

from __future__ import annotations

from typing import Any

import pytest

from bozor.bot.keyboards import BACK, CORE_MENU
from bozor.features import FEATURES
from bozor.i18n import Translator
from bozor.testing import ADMIN_ID, Harness, reply_buttons

ADMIN_COMMANDS = ["broadcast"] + [c.name for f in FEATURES for c in f.admin_commands]


async def _say(bozor: Harness, chat: int, text: str) -> dict[str, Any]:
    sent = await bozor.driver.send_message(chat, text)
    return await bozor.driver.wait_for_message(chat, after_message_id=sent["message_id"])


async def _admin(bozor: Harness, language: str) -> dict[str, Any]:
    await bozor.user("Admin", user_id=ADMIN_ID, language_code=language)
    return await bozor.start(ADMIN_ID)


def test_every_feature_declares_its_menu_texts_and_admin_commands() -> None:
    for language in ("en", "ru", "uz"):
        t = Translator(language)
        for feature in FEATURES:
            for key in (feature.title, feature.intro):
                assert key and t(key) != key, f"{feature.name}: {key} in {language}"
            for command in (*feature.commands, *feature.admin_commands):
                description = t(command.description_key)
                assert description != command.description_key and len(description) <= 256
    assert len(ADMIN_COMMANDS) == len(set(ADMIN_COMMANDS))
    assert "draw" in ADMIN_COMMANDS and "ads_queue" in ADMIN_COMMANDS
    assert "shop_admin" in ADMIN_COMMANDS


async def test_admins_see_their_commands_in_each_language_and_members_do_not(
    bozor: Harness,
) -> None:
    await _admin(bozor, "ru")  # the admin's chat exists once they started the bot
    for language, draw in (("en", "Draw the winners"), ("ru", "Провести розыгрыш"),
                           ("uz", "Gʻoliblarni aniqlash")):  # fmt: skip
        stored = await bozor.driver.commands(f"chat:{ADMIN_ID}", language)
        names = [c["command"] for c in stored]
        member_names = [c["command"] for c in await bozor.driver.commands("default", language)]
        assert names == member_names + ADMIN_COMMANDS
        seen = await bozor.driver.visible_commands(ADMIN_ID, language)
        assert {c["command"]: c["description"] for c in seen}["draw"] == draw
    default = await bozor.driver.commands(f"chat:{ADMIN_ID}")  # other app languages
    assert {c["command"]: c["description"] for c in default}["draw"] == "Draw the winners"
    member = await bozor.user("Aziz", language_code="uz")
    await bozor.start(member)
    for language in ("en", "ru", "uz", "de"):
        names = [c["command"] for c in await bozor.driver.visible_commands(member, language)]
        assert "start" in names and "buy" in names
        assert not set(names) & set(ADMIN_COMMANDS), language


async def test_an_admin_who_picks_a_language_gets_the_admin_commands_in_it(
    bozor: Harness,
) -> None:
    await _admin(bozor, "en")
    picker = await _say(bozor, ADMIN_ID, "/language")
    await bozor.driver.press_button(ADMIN_ID, picker["message_id"], callback_data="lang:uz")
    await bozor.driver.wait_for_message(ADMIN_ID, after_message_id=picker["message_id"])
    seen = await bozor.driver.visible_commands(ADMIN_ID, "en")
    assert {c["command"]: c["description"] for c in seen}["ads_queue"] == (
        "Tekshiruvni kutayotgan eʼlonlar"
    )


@pytest.mark.parametrize("language", ["ru", "uz"])
async def test_start_and_help_point_to_every_feature(bozor: Harness, language: str) -> None:
    t = Translator(language)
    member = await bozor.user("Aziz", language_code=language)
    welcome = (await bozor.start(member))["text"]
    help_text = (await _say(bozor, member, "/help"))["text"]
    for text in (welcome, help_text):
        for feature in FEATURES:
            assert t(feature.intro) in text, (feature.name, text)
        assert t("about.core.admin") not in text and "/draw" not in text


async def test_an_admins_welcome_and_help_list_the_admin_commands_by_feature(
    bozor: Harness,
) -> None:
    t = Translator("ru")
    welcome = (await _admin(bozor, "ru"))["text"]
    help_text = (await _say(bozor, ADMIN_ID, "/help"))["text"]
    for text in (welcome, help_text):
        assert t("about.core.admin") in text
        assert f"{t('about.core.broadcasts')}\n/broadcast — {t('admin_commands.broadcast')}" in text
        for feature in FEATURES:
            if feature.admin_commands:
                first = feature.admin_commands[0]
                heading = f"{t(feature.title)}\n/{first.name} — {t(first.description_key)}"
                assert heading in text, (feature.name, text)
        assert all(f"/{name} — " in text for name in ADMIN_COMMANDS)
        assert len(text) <= 4096


@pytest.mark.parametrize("language", ["en", "uz"])
async def test_the_compact_menu_reaches_every_feature_button(bozor: Harness, language: str) -> None:
    t = Translator(language)
    member = await bozor.user("Aziz", language_code=language)
    await bozor.start(member)
    main = [t(f.menu[0] if len(f.menu) == 1 else f.title) for f in FEATURES]
    main += [t(key) for key in CORE_MENU]
    assert await reply_buttons(bozor, member) == main
    unknown = t("common.unknown_command")
    for feature in FEATURES:
        if len(feature.menu) == 1:
            answer = await _say(bozor, member, t(feature.menu[0]))
            assert answer.get("text") != unknown
            continue
        sent = await bozor.driver.press_reply_button(member, t(feature.title))
        opened = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
        assert opened["text"] == t(feature.intro)
        submenu = [t(key) for key in (*feature.menu, BACK)]
        assert await reply_buttons(bozor, member) == submenu
        for key in feature.menu:
            sent = await bozor.driver.press_reply_button(member, t(key))
            answer = await bozor.driver.wait_for_message(
                member, after_message_id=sent["message_id"]
            )
            assert answer.get("text") != unknown, key
            if await reply_buttons(bozor, member) != submenu:  # a dialogue's keyboard
                sent = await bozor.driver.send_message(member, t(feature.title))  # typed
                await bozor.driver.wait_for_message(
                    member, after_message_id=sent["message_id"], contains=t(feature.intro)
                )
                assert await reply_buttons(bozor, member) == submenu
        sent = await bozor.driver.press_reply_button(member, t(BACK))
        await bozor.driver.wait_for_message(
            member, after_message_id=sent["message_id"], contains=t("menu.placeholder")
        )
        assert await reply_buttons(bozor, member) == main
