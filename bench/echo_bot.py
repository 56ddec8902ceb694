"""The baseline: the smallest aiogram bot that answers every message, on the same emulator.

It measures the upper bound of the aiogram + HTTP stack on this machine; Bozor is compared to it.
Run by referral_starts.py with BOT_TOKEN and TELEGRAM_API_URL in the environment.
"""

from __future__ import annotations

import asyncio
import os
import signal

import uvloop
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage
from aiogram.types import Message


async def echo(message: Message) -> SendMessage:
    return message.answer(message.text or "")


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()
    dispatcher.message.register(echo)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(dispatcher.stop_polling()))
    await dispatcher.start_polling(bot, handle_signals=False, tasks_concurrency_limit=128)


if __name__ == "__main__":
    uvloop.run(main())
