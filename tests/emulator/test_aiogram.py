"""A real aiogram Dispatcher against the emulator: polling and aiogram's webhook handler."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Dispatcher, F
from aiogram.filters import CommandObject, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bozor.emulator import EmulatorDriver


def _dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Join", callback_data="join")]]
        )
        await message.answer(f"Welcome! ref={command.args}", reply_markup=markup)

    @dp.callback_query(F.data == "join")
    async def join(query: CallbackQuery) -> None:
        await query.answer("Joined")
        assert isinstance(query.message, Message)
        await query.message.edit_text("You joined")

    @dp.message(F.text)
    async def echo(message: Message) -> SendMessage:
        # Returned, not awaited: aiogram sends it in the webhook response body.
        return message.answer(f"echo: {message.text}")

    return dp


async def test_dispatcher_polling_flow(bot: Bot, driver: EmulatorDriver) -> None:
    dp = _dispatcher()
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        user = await driver.create_user("Poller")
        sent = await driver.send_start(user, "abc")
        welcome = await driver.wait_for_message(
            user, contains="Welcome", after_message_id=sent["message_id"]
        )
        assert welcome["text"] == "Welcome! ref=abc"
        query_id = await driver.press_button(user, welcome["message_id"], text="Join")
        assert await driver.callback_answer(query_id) == {"show_alert": False, "text": "Joined"}
        await driver.wait_for_message(user, contains="You joined")
        for i in range(20):
            await driver.send_message(user, f"m{i}")
        await driver.wait_for_message(user, contains="echo: m19")
        assert len(await driver.bot_messages(user)) == 21
    finally:
        await dp.stop_polling()
        await polling


async def test_aiogram_webhook_handler_reply_in_response(bot: Bot, driver: EmulatorDriver) -> None:
    dp = _dispatcher()
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="hook-secret", handle_in_background=False).register(
        app, path="/tg"
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
        await bot.set_webhook(url, secret_token="hook-secret")
        user = await driver.create_user("Hooked")
        await driver.send_message(user, "hello")
        # the echo handler's answer travels back in the webhook response (multipart)
        reply = await driver.wait_for_message(user, contains="echo: hello")
        assert reply["from"]["is_bot"] is True
        stats = await driver.stats()
        assert stats["webhook_deliveries"] == 1
        assert stats["requests"]["sendMessage"] == 1  # executed from the webhook response
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
