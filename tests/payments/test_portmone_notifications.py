"""Portmone's notifications: parsed as claims only, and sent by the fake like the real gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiohttp import web

from bozor.payments.fake_portmone import FakePortmone
from bozor.payments.portmone import (
    PortmoneClient,
    PortmoneNotificationError,
    PortmoneStatus,
    notification_ack,
    parse_notification,
    signature,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def test_the_json_notification() -> None:
    body = json.dumps(
        {
            "shopOrderNumber": "bz-7",
            "shopBillId": "901234",
            "status": "PAYED",
            "billAmount": "150.5",
            "billCurrency": "UAH",
            "payeeId": "3048",
        }
    ).encode()
    note = parse_notification(body, "application/json; charset=utf-8")
    assert note.shop_order_number == "bz-7"
    assert note.shop_bill_id == "901234"
    assert note.status is PortmoneStatus.PAYED
    assert note.amount == Decimal("150.5")
    assert note.currency == "UAH"


def test_the_form_posted_back_to_success_url() -> None:
    body = b"SHOPORDERNUMBER=bz-8&SHOPBILLID=55&RESULT=0&BILL_AMOUNT=20.00&APPROVALCODE=123456"
    note = parse_notification(body, FORM)
    assert (note.shop_order_number, note.shop_bill_id) == ("bz-8", "55")
    assert note.status is PortmoneStatus.PAYED and note.amount == Decimal("20.00")
    failed = parse_notification(b"SHOPORDERNUMBER=bz-8&RESULT=Card+declined", FORM)
    assert failed.status is PortmoneStatus.REJECTED and failed.amount is None


def test_only_the_order_number_is_required() -> None:
    note = parse_notification(b'{"shopOrderNumber": 42}', JSON)
    assert note.shop_order_number == "42"
    assert note.shop_bill_id is None and note.status is None and note.amount is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", JSON),
        (b"{not json", JSON),
        (b"[1, 2]", JSON),
        (b'"bz-1"', JSON),
        (b'{"shopBillId": "1", "status": "PAYED"}', JSON),  # no order number
        (b'{"shopOrderNumber": "  "}', JSON),
        (b'{"shopOrderNumber": true}', JSON),
        (b'{"shopOrderNumber": "bz-1", "status": "GIVEN_AWAY"}', JSON),
        (b'{"shopOrderNumber": "bz-1", "billAmount": "lots"}', JSON),
        (b'{"shopOrderNumber": "bz-1", "billAmount": "NaN"}', JSON),
        (b"RESULT=0", FORM),
        (b"garbage", FORM),
        (b"\xff\xfe", FORM),
        (b"<BILLS/>", "text/xml"),
    ],
)
def test_malformed_notifications_are_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(PortmoneNotificationError):
        parse_notification(body, content_type)


def test_the_acknowledgement_portmone_expects() -> None:
    ack = notification_ack()
    assert ack["errorCode"] == "0" and ack["reason"] == "OK" and ack["responseId"]


def test_signature_of_a_known_vector() -> None:
    """Computed independently with openssl from the documented recipe:
    upper(payeeId + dt + hex(shopOrderNumber) + billAmount) + upper(hex(login)), HMAC-SHA256.
    printf '%s' 118520250101120000627A2D31150.557444953484F50 | openssl dgst -sha256 -hmac test-key
    """
    assert signature(
        payee_id="1185",
        dt="20250101120000",
        shop_order_number="bz-1",
        amount="150.5",
        login="WDISHOP",
        key="test-key",
    ) == ("4E544AE3A53EBA4D156AB4A02CB61E7AFBEE0631F66D0377EF260B9842BF08BA")


@pytest.fixture
async def merchant() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """The merchant's notification endpoint: records what arrives, answers like Bozor would."""
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(
            {"body": await request.read(), "content_type": request.headers["Content-Type"]}
        )
        return web.json_response(notification_ack())

    app = web.Application()
    app.router.add_post("/payments/portmone", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/payments/portmone", received
    finally:
        await runner.cleanup()


async def start_order(fake: FakePortmone, number: str = "bz-1") -> str:
    async with PortmoneClient(fake.config) as client:
        link = await client.create_link(
            shop_order_number=number,
            amount=Decimal("99.90"),
            currency="UAH",
            description="Card",
            success_url="https://example.org/ok",
            failure_url="https://example.org/fail",
        )
    return link.url


async def test_paying_posts_the_notification(
    merchant: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = merchant
    async with FakePortmone(callback_url=url) as fake:
        await start_order(fake)
        order = await fake.pay("bz-1")
        assert len(received) == 1 and fake.notifications[0].status == 200
        note = parse_notification(received[0]["body"], received[0]["content_type"])
        assert note.shop_order_number == "bz-1"
        assert note.shop_bill_id == order.shop_bill_id
        assert note.status is PortmoneStatus.PAYED and note.amount == Decimal("99.9")

        assert await fake.notify("bz-1") == 200  # a duplicate
        assert await fake.notify("bz-1", billAmount="0.01") == 200  # a forged one
        forged = parse_notification(received[2]["body"], JSON)
        assert forged.amount == Decimal("0.01")
        assert fake.order("bz-1").paid_amount is None, "forging changes nothing at Portmone"
        assert await fake.notify("ghost", status="PAYED") == 200
        assert parse_notification(received[3]["body"], JSON).shop_order_number == "ghost"


async def test_without_a_callback_url_nothing_is_sent() -> None:
    async with FakePortmone() as fake:
        await start_order(fake)
        await fake.pay("bz-1")
        assert await fake.notify("bz-1") is None
        assert fake.notifications == []


async def test_an_unreachable_merchant_is_recorded() -> None:
    async with FakePortmone(callback_url="http://127.0.0.1:9/nowhere") as fake:
        await start_order(fake)
        await fake.pay("bz-1")
        assert fake.notifications[0].status is None
        assert fake.order("bz-1").status is PortmoneStatus.PAYED


async def test_the_payment_page_pays_and_returns_the_buyer(
    merchant: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = merchant
    async with FakePortmone(callback_url=url) as fake:
        link = await start_order(fake)
        async with httpx.AsyncClient() as browser:
            page = await browser.get(link)
            assert "99.9 UAH" in page.text and "Pay" in page.text
            answer = await browser.post(link, data={"action": "pay"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "https://example.org/ok"
        assert fake.order("bz-1").status is PortmoneStatus.PAYED and len(received) == 1

        declined = await start_order(fake, "bz-2")
        async with httpx.AsyncClient() as browser:
            answer = await browser.post(declined, data={"action": "reject"})
        assert answer.headers["location"] == "https://example.org/fail"
        assert fake.order("bz-2").status is PortmoneStatus.REJECTED
        assert len(received) == 1, "Portmone notifies about successful payments only"


async def test_the_fake_refuses_what_the_gateway_would() -> None:
    async with FakePortmone() as fake, httpx.AsyncClient() as http:
        for body in [b"not json", b"[]", b'{"method": "payItForMe"}']:
            answer = (await http.post(fake.url, content=body)).json()
            assert answer["errorCode"] != "0"
        answer = (await http.post(fake.url, json={"method": "createLinkPayment"})).json()
        assert answer["errorCode"] != "0"
        answer = (await http.post(fake.url, json={"method": "result", "params": {}})).json()
        assert answer[0]["errorCode"] != "0"
        assert [request.method for request in fake.requests][-2:] == ["createLinkPayment", "result"]
        with pytest.raises(KeyError):
            await fake.pay("never-made")
