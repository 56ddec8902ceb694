"""Bot API basics through a real aiogram Bot: identity, polling, messages, errors."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
)

from bozor.emulator import Emulator, EmulatorDriver, EmulatorError


def _dump(entities: list[MessageEntity] | None) -> list[dict[str, object]]:
    return [e.model_dump(exclude_none=True) for e in entities or []]


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "bot123456789_bot"


async def test_bad_token_is_unauthorized(emu: Emulator) -> None:
    bad = Bot("42:short", session=AiohttpSession(api=TelegramAPIServer.from_base(emu.url)))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bad.get_me()
    finally:
        await bad.session.close()


async def test_unknown_method(bot: Bot) -> None:
    class Nope(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "doesNotExist"

    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot(Nope())


async def test_long_polling_gets_command_and_offset_confirms(
    bot: Bot, driver: EmulatorDriver
) -> None:
    user_id = await driver.create_user("Bob")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await driver.send_message(user_id, "/start ref42")
    updates = await poll
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start ref42"
    assert message.from_user is not None and message.from_user.id == user_id
    assert message.chat.type == "private"
    assert _dump(message.entities) == [{"type": "bot_command", "offset": 0, "length": 6}]

    await driver.send_message(user_id, "second")
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [updates[0].update_id, updates[0].update_id + 1]
    confirmed = await bot.get_updates(offset=again[-1].update_id)
    assert [u.update_id for u in confirmed] == [again[-1].update_id]
    assert await bot.get_updates(offset=again[-1].update_id + 1) == []


async def test_second_poller_conflicts_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


async def test_inline_keyboard_and_callback(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="vote:yes")]]
    )
    sent = await bot.send_message(user, "Vote?", reply_markup=markup)
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "vote:yes"
    before = await bot.get_updates()
    query_id = await driver.press_button(user, sent.message_id, text="Yes")
    updates = await bot.get_updates(offset=before[-1].update_id + 1)
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id
    assert query.data == "vote:yes"
    assert query.from_user.id == user
    assert query.message is not None and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query_id, text="Counted", show_alert=True)
    answer = await driver.callback_answer(query_id, timeout=1)
    assert answer == {"show_alert": True, "text": "Counted"}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")


async def test_pressing_missing_buttons_fails(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    sent = await bot.send_message(user, "Pick", reply_markup=markup)
    with pytest.raises(EmulatorError) as err:
        await driver.press_button(user, sent.message_id, text="B")
    assert err.value.status == 404
    with pytest.raises(EmulatorError):
        await driver.press_button(user, 9999, callback_data="a")
    other = await driver.create_user("Eve")
    with pytest.raises(EmulatorError) as err:
        await driver.press_button(other, sent.message_id, callback_data="a", chat_id=user)
    assert err.value.status == 403


async def test_reply_keyboard_and_contact(bot: Bot, driver: EmulatorDriver) -> None:
    user = await driver.create_user("Carl", phone_number="+998901234567")
    await driver.send_start(user)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="Share phone", request_contact=True)],
            [KeyboardButton(text="Menu")],
        ],
        resize_keyboard=True,
    )
    sent = await bot.send_message(user, "Share?", reply_markup=keyboard)
    assert sent.reply_markup is None  # messages only carry inline keyboards
    assert (await driver.reply_keyboard(user)) is not None
    contact_msg = await driver.press_reply_button(user, "Share phone")
    assert contact_msg["contact"] == {
        "phone_number": "+998901234567",
        "first_name": "Carl",
        "user_id": user,
    }
    menu = await driver.press_reply_button(user, "Menu")
    assert menu["text"] == "Menu"
    with pytest.raises(EmulatorError):
        await driver.press_reply_button(user, "Nope")
    own = await driver.send_contact(user, "+1555000111", own=False, first_name="Friend")
    assert "user_id" not in own["contact"]


async def test_edit_and_not_modified(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    sent = await bot.send_message(user, "<b>Hi</b> there", parse_mode="HTML")
    assert sent.text == "Hi there"
    assert _dump(sent.entities) == [{"type": "bold", "offset": 0, "length": 2}]
    edited = await bot.edit_message_text(text="Bye", chat_id=user, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "Bye"
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text(text="Bye", chat_id=user, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=user, message_id=999)
    messages = await driver.bot_messages(user)
    assert [m["text"] for m in messages] == ["Bye"]
    assert "edit_date" in messages[0]


async def test_delete_and_reply(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    first = await bot.send_message(user, "one")
    reply = await bot.send_message(
        user, "two", reply_parameters=ReplyParameters(message_id=first.message_id)
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == first.message_id
    assert await bot.delete_message(user, first.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user, first.message_id)
    assert [m["text"] for m in await driver.bot_messages(user)] == ["two"]
    assert len(await driver.messages(user)) == 2  # the user's /start and "two"


async def test_telegram_errors(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(-100123, "x")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(user, "   ")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user, "x" * 4097)
    await bot.send_message(user, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(
            user,
            "long data",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
            ),
        )
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user, "a < b <c>", parse_mode="HTML")
    stranger = await driver.create_user("Stranger")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(stranger, "hello")


async def test_blocked_user(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    await bot.send_message(user, "ok")
    await driver.block_bot(user)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(user, "still there?")
    updates = await bot.get_updates()
    member_update = updates[-1].my_chat_member
    assert member_update is not None and member_update.new_chat_member.status == "kicked"
    await driver.unblock_bot(user)
    await bot.send_message(user, "welcome back")


async def test_wait_for_message(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(user, "first")
        await bot.send_message(user, "the answer is 42")

    task = asyncio.create_task(later())
    found = await driver.wait_for_message(user, contains="42", timeout=3)
    await task
    assert found["text"] == "the answer is 42"
    both = await driver.wait_for_messages(user, 2, timeout=1)
    assert [m["text"] for m in both] == ["first", "the answer is 42"]
    with pytest.raises(TimeoutError, match="the answer is 42") as err:
        await driver.wait_for_message(user, contains="never", timeout=0.2)
    assert "timed out" in str(err.value)


async def test_wait_sees_edits(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    sent = await bot.send_message(user, "loading")

    async def later() -> None:
        await asyncio.sleep(0.1)
        await bot.edit_message_text(text="done", chat_id=user, message_id=sent.message_id)

    task = asyncio.create_task(later())
    found = await driver.wait_for_message(user, contains="done", timeout=3)
    await task
    assert found["message_id"] == sent.message_id


async def test_copy_forward_chat_action_and_get_chat(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    incoming = await driver.send_message(user, "copy me")
    copied = await bot.copy_message(user, user, incoming["message_id"])
    forwarded = await bot.forward_message(user, user, incoming["message_id"])
    assert forwarded.text == "copy me" and forwarded.forward_origin is not None
    texts = [m["text"] for m in await driver.bot_messages(user)]
    assert texts == ["copy me", "copy me"]
    assert copied.message_id < forwarded.message_id
    assert await bot.send_chat_action(user, "typing")
    chat = await bot.get_chat(user)
    assert chat.type == "private" and chat.username == "alice"


async def test_redeliver_and_push_update(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    first = await bot.get_updates()
    last = await driver.last_update()
    assert last["update_id"] == first[-1].update_id
    await bot.get_updates(offset=last["update_id"] + 1)
    await driver.redeliver(last["update_id"])
    again = await bot.get_updates(offset=last["update_id"] + 1)
    assert [u.update_id for u in again] == [last["update_id"]]
    assert await bot.get_updates(offset=last["update_id"] + 1) == []
    pushed = await driver.push_update(
        {
            "message": {
                "message_id": 77,
                "date": 0,
                "chat": {"id": user, "type": "private"},
                "text": "raw",
            }
        }
    )
    got = await bot.get_updates(offset=last["update_id"] + 1)
    assert got[-1].update_id == pushed["update_id"]
    assert got[-1].message is not None and got[-1].message.text == "raw"


async def test_commands_per_language(bot: Bot, driver: EmulatorDriver) -> None:
    from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Boshlash")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="uz",
    )
    assert await driver.commands() == [{"command": "start", "description": "Start"}]
    assert await driver.commands("all_private_chats", "uz") == [
        {"command": "start", "description": "Boshlash"}
    ]
    assert await driver.commands("default", "uz") == []
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="uz")
    assert got[0].description == "Boshlash"
    assert await bot.delete_my_commands()
    assert await driver.commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.set_my_description("Shop bot", language_code="en")
    assert (await bot.get_my_description(language_code="en")).description == "Shop bot"


async def test_reset_keeps_bot(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    await driver.reset()
    with pytest.raises(EmulatorError):
        await driver.send_message(user, "gone")
    assert (await bot.get_me()).id == 123456789
    assert await bot.get_updates() == []


async def test_json_and_query_requests(emu: Emulator, token: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=emu.url) as client:
        resp = await client.post(f"/bot{token}/GETME", json={})
        assert resp.json()["result"]["id"] == 123456789
        resp = await client.get(f"/bot{token}/getUpdates", params={"limit": "1"})
        assert resp.json() == {"ok": True, "result": []}
        resp = await client.post(f"/bot{token}/sendMessage", data={"chat_id": "1", "text": "x"})
        assert resp.status_code == 400
        assert resp.json()["description"] == "Bad Request: chat not found"
