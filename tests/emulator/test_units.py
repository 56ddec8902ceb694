"""Pure pieces: HTML entities, command entities, registration options."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError

from bozor.emulator import Emulator, EmulatorDriver
from bozor.emulator.errors import ApiError
from bozor.emulator.formatting import command_entities, parse_html


def test_parse_html_entities_and_utf16_offsets() -> None:
    text, entities = parse_html('😀 <b>bold <i>both</i></b> &lt;x&gt; <a href="https://t.me">l</a>')
    assert text == "😀 bold both <x> l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "url": "https://t.me", "offset": 17, "length": 1},
    ]
    code, pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert code == "x = 1"
    assert pre == [{"type": "pre", "language": "python", "offset": 0, "length": 5}]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<marquee>x</marquee>", 'Unsupported start tag "marquee"'),
        ("1 < 2", "Unexpected end of name token"),
    ],
)
def test_parse_html_errors(source: str, error: str) -> None:
    with pytest.raises(ApiError, match=error) as err:
        parse_html(source)
    assert err.value.error_code == 400
    assert err.value.description.startswith("Bad Request: can't parse entities: ")


def test_command_entities() -> None:
    assert command_entities("/start abc") == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert command_entities("/help@bozor_bot") == [
        {"offset": 0, "length": 15, "type": "bot_command"}
    ]
    assert command_entities("hello /start") is None
    assert command_entities("/") is None


async def test_registration_required_without_auto_register() -> None:
    token = "555:registered-token-abcdefghijklmnop"
    async with Emulator(auto_register_bots=False, rate_limits=True) as emu:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
        bot = Bot(token, session=session)
        try:
            with pytest.raises(TelegramUnauthorizedError):
                await bot.get_me()
            async with EmulatorDriver(emu.url, token) as driver:
                await driver.register_bot(username="bozor_bot", first_name="Bozor")
                me = await bot.get_me()
                assert (me.id, me.username, me.first_name) == (555, "bozor_bot", "Bozor")
                user = await driver.create_user(user_id=2**40)
                await driver.send_start(user)
                with pytest.raises(TelegramRetryAfter):
                    for _ in range(5):
                        await bot.send_message(user, "burst")
                assert (await driver.stats())["rate_limited"] == 1
        finally:
            await bot.session.close()
