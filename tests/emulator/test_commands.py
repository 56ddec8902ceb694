"""setMyCommands as Telegram has it: a list per scope and language, its limits and errors, and
the list a user sees resolved across scopes ("Determining list of commands")."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatMember,
)

from bozor.emulator import EmulatorDriver


def _commands(*names: str, description: str = "x") -> list[BotCommand]:
    return [BotCommand(command=name, description=description) for name in names]


async def _names(
    driver: EmulatorDriver, chat: int, language: str, user: int | None = None
) -> list[str]:
    return [c["command"] for c in await driver.visible_commands(chat, language, user)]


async def test_the_limits_of_a_command_list(bot: Bot, driver: EmulatorDriver) -> None:
    names = [f"c{i}" for i in range(100)]
    assert await bot.set_my_commands(_commands(*names))
    with pytest.raises(TelegramBadRequest, match="BOT_COMMANDS_TOO_MUCH"):
        await bot.set_my_commands(_commands(*names, "c100"))
    for name in ("", "a" * 33, "Start", "with-dash", "пуск"):
        with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
            await bot.set_my_commands(_commands(name))
    assert await bot.set_my_commands(_commands("a" * 32, description="d" * 256))
    for description in ("", "d" * 257):
        with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_DESCRIPTION_INVALID"):
            await bot.set_my_commands(_commands("start", description=description))
    for language in ("eng", "RU", "1a"):
        with pytest.raises(TelegramBadRequest, match="invalid language code"):
            await bot.set_my_commands(_commands("start"), language_code=language)
    assert await bot.set_my_commands([])  # an empty list deletes the scope's list
    assert await driver.commands() == []


async def test_a_chat_scope_needs_a_chat_the_bot_knows(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    stranger = await driver.create_user("Never started")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands(_commands("admin"), scope=BotCommandScopeChat(chat_id=stranger))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=-1_000_123))
    with pytest.raises(TelegramBadRequest, match="private chats"):
        await bot.set_my_commands(
            _commands("admin"), scope=BotCommandScopeChatMember(chat_id=user, user_id=user)
        )
    assert await bot.set_my_commands(_commands("admin"), scope=BotCommandScopeChat(chat_id=user))
    assert [
        c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=user))
    ] == ["admin"]


async def test_what_a_user_sees_is_the_first_list_set(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    other = await driver.create_user("Bob")
    await driver.send_start(other)
    assert await _names(driver, user, "ru") == []
    await bot.set_my_commands(_commands("default"))
    await bot.set_my_commands(_commands("default_ru"), language_code="ru")
    assert await _names(driver, user, "ru") == ["default_ru"]
    assert await _names(driver, user, "uz") == ["default"]
    await bot.set_my_commands(_commands("private"), scope=BotCommandScopeAllPrivateChats())
    assert await _names(driver, user, "ru") == ["private"]  # a wider scope's language loses
    await bot.set_my_commands(
        _commands("mine_ru"), scope=BotCommandScopeChat(chat_id=user), language_code="ru"
    )
    assert await _names(driver, user, "ru") == ["mine_ru"]
    assert await _names(driver, user, "en") == ["private"]
    assert await _names(driver, other, "ru") == ["private"]  # another chat: not its list
    group = await driver.create_group("Club", [user, other])
    await bot.set_my_commands(_commands("group"), scope=BotCommandScopeAllGroupChats())
    assert await _names(driver, group, "ru", user) == ["group"]
    await bot.set_my_commands(
        _commands("member"), scope=BotCommandScopeChatMember(chat_id=group, user_id=user)
    )
    assert await _names(driver, group, "ru", user) == ["member"]
    assert await _names(driver, group, "ru", other) == ["group"]
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=user), language_code="ru")
    assert await _names(driver, user, "ru") == ["private"]
