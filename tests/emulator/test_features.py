"""Rate limits, faults, webhooks, files, payments and chat membership."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InputMediaDocument, InputMediaPhoto, LabeledPrice
from aiohttp import web

from bozor.emulator import Emulator, EmulatorDriver, FaultSpec

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    + b"\x00" * 40
)


async def test_rate_limit_per_private_chat(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    await driver.set_rate_limits(True)
    with pytest.raises(TelegramRetryAfter) as err:
        for _ in range(10):
            await bot.send_message(user, "spam")
    assert err.value.retry_after >= 1
    assert "Too Many Requests: retry after" in err.value.message
    stats = await driver.stats()
    assert stats["rate_limited"] == 1
    assert stats["messages_sent"] == 3  # the tolerated burst
    assert stats["requests"]["sendMessage"] == 4
    await driver.set_rate_limits(False)
    await bot.send_message(user, "fine again")


async def test_rate_limit_per_group(bot: Bot, driver: EmulatorDriver) -> None:
    members = [await driver.create_user(f"U{i}") for i in range(2)]
    group = await driver.create_group("Bazaar", members)
    await driver.set_rate_limits(True, per_group_per_minute=2)
    await bot.send_message(group, "1")
    await bot.send_message(group, "2")
    with pytest.raises(TelegramRetryAfter) as err:
        await bot.send_message(group, "3")
    assert err.value.retry_after >= 20


async def test_fault_injection_then_success(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    await driver.inject_fault("sendMessage", error_code=500, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(user, "x")
    assert (await bot.send_message(user, "x")).text == "x"
    await driver.inject_fault("sendmessage", error_code=429, retry_after=7, chat_id=user)
    with pytest.raises(TelegramRetryAfter) as err:
        await bot.send_message(user, "y")
    assert err.value.retry_after == 7
    await driver.inject_fault("*", error_code=403, description="Forbidden: custom")
    with pytest.raises(TelegramForbiddenError, match="custom"):
        await bot.get_me()
    stats = await driver.stats()
    assert stats["faults_injected"] == 4
    assert stats["errors"] == {"500": 2, "429": 1, "403": 1}


async def test_gateway_failures_look_like_telegrams_front_end(
    emu: Emulator, token: str, bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    """A 502 or 504 comes as nginx's HTML page (aiogram cannot read it as JSON); a reset
    closes the connection unanswered; neither sends the message."""
    await driver.inject_fault("sendMessage", error_code=502, body="html")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emu.url}/bot{token}/sendMessage", json={"chat_id": user, "text": "x"}
        ) as answer,
    ):
        assert answer.status == 502
        assert answer.content_type == "text/html"
        assert "<h1>502 Bad Gateway</h1>" in await answer.text()
    await driver.inject_fault("sendMessage", error_code=504, body="html")
    with pytest.raises(ClientDecodeError):
        await bot.send_message(user, "x")
    await driver.inject_fault("sendMessage", error_code=502, body="reset")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user, "x")
    assert [m["text"] for m in await driver.bot_messages(user)] == []
    assert (await bot.send_message(user, "y")).text == "y"
    assert (await driver.stats())["faults_injected"] == 3


async def test_a_share_of_calls_fails_until_cleared(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    await driver.inject_fault("sendMessage", error_code=500, rate=0.25, seed=7)
    failed = 0
    for i in range(200):
        try:
            await bot.send_message(user, str(i))
        except TelegramServerError:
            failed += 1
    assert 20 <= failed <= 80  # a quarter of 200, drawn
    assert len(await driver.bot_messages(user)) == 200 - failed
    assert (await bot.get_me()).id  # other methods are not affected
    await driver.clear_faults()
    for i in range(20):
        await bot.send_message(user, str(i))


def test_faults_from_the_command_line() -> None:
    assert FaultSpec.parse("sendMessage:502:html:0.05") == FaultSpec(
        "sendMessage", 502, 0.05, "html"
    )
    assert FaultSpec.parse("sendMessage:500:0.1") == FaultSpec("sendMessage", 500, 0.1, "json")
    for bad in ("sendMessage:500", "sendMessage:500:xml:0.1", "sendMessage:500:2", "x:y:0.1"):
        with pytest.raises(ValueError, match=r"fault|rate"):
            FaultSpec.parse(bad)


async def test_an_emulator_started_with_faults_and_limits(token: str) -> None:
    async with Emulator(rate_limits=True, faults=[FaultSpec("sendMessage", 500, 1.0)]) as emu:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
        bot = Bot(token, session=session)
        try:
            async with EmulatorDriver(emu.url, token) as driver:
                user = await driver.create_user("Alice")
                await driver.send_start(user)
                with pytest.raises(TelegramServerError):
                    await bot.send_message(user, "x")
                assert [f["rate"] for f in await driver.faults()] == [1.0]
                await driver.clear_faults()
                for _ in range(3):
                    await bot.send_message(user, "burst")
                with pytest.raises(TelegramRetryAfter):
                    await bot.send_message(user, "one too many")
        finally:
            await bot.session.close()


class WebhookSink:
    """A tiny bot-side webhook server recording what Telegram posts."""

    def __init__(self, fail_first: int = 0, reply: dict[str, object] | None = None) -> None:
        self.fail_first = fail_first
        self.reply = reply
        self.received: list[dict[str, object]] = []
        self.secrets: list[str | None] = []
        self.attempts = 0
        self.event = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return web.Response(status=500)
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.received.append(await request.json())
        self.event.set()
        if self.reply is not None:
            return web.json_response(self.reply)
        return web.json_response({})


@pytest.fixture
async def sink_server() -> AsyncIterator[tuple[WebhookSink, str]]:
    sink = WebhookSink(fail_first=1)
    app = web.Application()
    app.router.add_post("/hook", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield sink, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_delivery_with_secret_and_retry(
    bot: Bot, driver: EmulatorDriver, sink_server: tuple[WebhookSink, str]
) -> None:
    sink, url = sink_server
    user = await driver.create_user("Hooked")
    assert await bot.set_webhook(url, secret_token="s3cr3t", drop_pending_updates=True)
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    sent = await driver.send_message(user, "/start")
    await asyncio.wait_for(sink.event.wait(), 5)
    assert sink.attempts == 2  # the first attempt got a 500 and was retried
    assert sink.secrets == ["s3cr3t"]
    message = sink.received[0]["message"]
    assert isinstance(message, dict) and message["message_id"] == sent["message_id"]
    info = await bot.get_webhook_info()
    assert info.url == url
    assert info.last_error_message is not None and "500" in info.last_error_message
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_webhook_reply_method_is_executed(bot: Bot, driver: EmulatorDriver) -> None:
    user = await driver.create_user("Replier")
    sink = WebhookSink(reply={"method": "sendMessage", "chat_id": user, "text": "pong"})
    app = web.Application()
    app.router.add_post("/hook", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        await driver.send_message(user, "ping")
        found = await driver.wait_for_message(user, contains="pong", timeout=5)
        assert found["from"]["is_bot"] is True
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_photo_upload_get_file_and_download(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    sent = await bot.send_photo(
        user, BufferedInputFile(PNG, "pic.png"), caption="<i>nice</i>", parse_mode="HTML"
    )
    assert sent.photo is not None and sent.caption == "nice"
    size = sent.photo[-1]
    assert (size.width, size.height) == (2, 3)
    file = await bot.get_file(size.file_id)
    assert file.file_path is not None and file.file_size == len(PNG)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == PNG
    assert await driver.get_file_bytes(size.file_id) == PNG
    again = await bot.send_photo(user, size.file_id)
    assert again.photo is not None and again.photo[-1].file_id == size.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(user, "nonsense-id")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(user, size.file_id, caption="c" * 1025)


async def test_media_group_and_document(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    messages = await bot.send_media_group(
        user,
        [
            InputMediaPhoto(media=BufferedInputFile(PNG, "a.png"), caption="album"),
            InputMediaPhoto(media=BufferedInputFile(PNG + b"x", "b.png")),
        ],
    )
    assert len(messages) == 2
    assert messages[0].media_group_id is not None
    assert messages[0].media_group_id == messages[1].media_group_id
    assert messages[0].caption == "album" and messages[1].caption is None
    with pytest.raises(TelegramBadRequest, match="document can't be mixed"):
        await bot.send_media_group(
            user,
            [
                InputMediaPhoto(media=BufferedInputFile(PNG, "a.png")),
                InputMediaDocument(media=BufferedInputFile(b"doc", "a.txt")),
            ],
        )
    doc = await bot.send_document(user, BufferedInputFile(b"hello", "report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"
    assert doc.document.mime_type == "text/csv"

    photo = await driver.send_photo(user, PNG, caption="from user")
    album = await driver.send_album(user, [PNG, PNG], caption="two")
    upload = await driver.send_document(user, b"%PDF", "a.pdf")
    assert photo["caption"] == "from user"
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    assert upload["document"]["mime_type"] == "application/pdf"
    file = await bot.get_file(upload["document"]["file_id"])
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"%PDF"


async def _answer_pre_checkout(bot: Bot, ok: bool) -> None:
    offset = 0
    while True:
        for update in await bot.get_updates(offset=offset, timeout=5):
            offset = update.update_id + 1
            if update.pre_checkout_query is not None:
                await bot.answer_pre_checkout_query(
                    update.pre_checkout_query.id,
                    ok=ok,
                    error_message=None if ok else "Sold out",
                )
                return


async def test_invoice_payment_and_refund(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    invoice = await bot.send_invoice(
        user,
        title="Gift card",
        description="50 stars card",
        payload="order-1",
        currency="XTR",
        prices=[LabeledPrice(label="Card", amount=50)],
    )
    assert invoice.invoice is not None and invoice.invoice.total_amount == 50
    answering = asyncio.create_task(_answer_pre_checkout(bot, ok=True))
    paid = await driver.pay_invoice(user, invoice.message_id)
    await answering
    assert paid["ok"] is True
    payment = paid["message"]["successful_payment"]
    assert payment["invoice_payload"] == "order-1" and payment["total_amount"] == 50
    assert payment["telegram_payment_charge_id"] == paid["charge_id"]
    update = await driver.last_update()
    assert update["message"]["successful_payment"]["currency"] == "XTR"

    assert await bot.refund_star_payment(user, paid["charge_id"])
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(user, paid["charge_id"])
    assert (await driver.payments())[0]["refunded"] is True


async def test_invoice_refused_and_link(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    link = await bot.create_invoice_link(
        title="Ticket",
        description="Draw ticket",
        payload="ticket",
        currency="XTR",
        prices=[LabeledPrice(label="Ticket", amount=5)],
    )
    assert link.startswith("https://t.me/$")
    answering = asyncio.create_task(_answer_pre_checkout(bot, ok=False))
    refused = await driver.pay_invoice_link(user, link)
    await answering
    assert refused == {"ok": False, "error_message": "Sold out"}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query("999", ok=True)


async def test_chat_members_and_channels(bot: Bot, driver: EmulatorDriver) -> None:
    alice = await driver.create_user("Alice")
    bob = await driver.create_user("Bob", user_id=2**33 + 5)
    group = await driver.create_group("Market", [alice], creator_id=bob)
    assert group < -1_000_000_000_000
    assert (await bot.get_chat_member(group, alice)).status == "member"
    assert (await bot.get_chat_member(group, bob)).status == "creator"
    for status in ("administrator", "restricted", "left", "kicked", "member"):
        await driver.set_member(group, alice, status)
        assert (await bot.get_chat_member(group, alice)).status == status
    with pytest.raises(TelegramBadRequest, match="user not found"):
        await bot.get_chat_member(group, 42)

    channel = await driver.create_channel("News", username="bozor_news")
    assert (await bot.get_chat_member("@bozor_news", alice)).status == "left"
    await driver.set_member(channel, alice, "member")
    assert (await bot.get_chat_member(channel, alice)).status == "member"
    post = await bot.send_message(channel, "Hello channel")
    assert post.sender_chat is not None and post.sender_chat.id == channel

    closed = await driver.create_channel("Private", bot_is_admin=False)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the channel chat"):
        await bot.send_message(closed, "x")
    with pytest.raises(TelegramBadRequest, match="member list is inaccessible"):
        await bot.get_chat_member(closed, alice)

    basic = await driver.create_group("Basic", [alice], supergroup=False, bot_status="left")
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(basic, "x")

    user_msg = await driver.send_message(alice, "hi all", chat_id=group)
    assert user_msg["chat"]["id"] == group
    outsider = await driver.create_user("Out")
    with pytest.raises(Exception, match="not a member"):
        await driver.send_message(outsider, "let me in", chat_id=group)


async def test_negative_offset_and_pending_count(bot: Bot, driver: EmulatorDriver) -> None:
    user = await driver.create_user("Many")
    for text in ("a", "b", "c"):
        await driver.send_message(user, text)
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 3
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["c"]
    assert (await bot.get_webhook_info()).pending_update_count == 1
