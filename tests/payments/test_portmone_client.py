"""The Portmone client against the fake gateway: a real HTTP server speaking Portmone's formats."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiohttp import web

from bozor.payments.fake_portmone import ERR_AUTH, ERR_SIGNATURE, FakePortmone
from bozor.payments.portmone import (
    PortmoneClient,
    PortmoneConfig,
    PortmoneError,
    PortmoneStatus,
    now_dt,
    signature,
)

CONFIG = PortmoneConfig(
    payee_id="3048", login="SHOP_LOGIN", password="s3cret-pass", key="k3y-for-signing"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakePortmone]:
    async with FakePortmone(CONFIG) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakePortmone) -> AsyncIterator[PortmoneClient]:
    async with PortmoneClient(fake.config, timeout=5.0) as client:
        yield client


async def make_link(client: PortmoneClient, number: str = "bz-1", amount: str = "150.50") -> str:
    link = await client.create_link(
        shop_order_number=number,
        amount=Decimal(amount),
        currency="UAH",
        description="Gift card 150 UAH",
        success_url="https://t.me/bozor_bot?start=paid",
        failure_url="https://t.me/bozor_bot?start=failed",
        language="uk",
    )
    return link.url


async def test_create_link_sends_a_signed_request(
    fake: FakePortmone, client: PortmoneClient
) -> None:
    url = await make_link(client)

    assert url.startswith(fake.base_url + "/pay/")
    sent = fake.requests[-1].body
    assert sent["method"] == "createLinkPayment"
    payee, order = sent["payee"], sent["order"]
    assert payee["payeeId"] == "3048" and payee["login"] == "SHOP_LOGIN"
    assert "password" not in payee, "the link request is signed, not password-authenticated"
    assert len(payee["dt"]) == 14 and payee["dt"].isdigit()
    assert payee["signature"] == signature(
        payee_id="3048",
        dt=payee["dt"],
        shop_order_number="bz-1",
        amount="150.5",
        login="SHOP_LOGIN",
        key="k3y-for-signing",
    )
    assert order["shopOrderNumber"] == "bz-1"
    assert order["billAmount"] == "150.5"
    assert order["billCurrency"] == "UAH"
    assert order["successUrl"].endswith("start=paid")
    assert order["failureUrl"].endswith("start=failed")
    assert sent["payer"]["lang"] == "uk"
    stored = fake.order("bz-1")
    assert stored.amount == Decimal("150.50") and stored.status is PortmoneStatus.CREATED


async def test_the_link_opens_a_payment_page(fake: FakePortmone, client: PortmoneClient) -> None:
    url = await make_link(client)
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
    assert page.status_code == 200 and "150.5 UAH" in page.text


async def test_a_wrong_key_is_refused_with_the_signature_error(fake: FakePortmone) -> None:
    async with PortmoneClient(replace(fake.config, key="not-the-key")) as client:
        with pytest.raises(PortmoneError) as caught:
            await make_link(client)
    assert caught.value.code == ERR_SIGNATURE
    assert "signature" in caught.value.message.lower()
    assert fake.orders == {}


async def test_a_tampered_amount_breaks_the_signature(fake: FakePortmone) -> None:
    """The fake recomputes the signature from what arrives, as the real gateway does."""
    dt = now_dt()
    good = signature(
        payee_id="3048",
        dt=dt,
        shop_order_number="bz-9",
        amount="10",
        login=CONFIG.login,
        key=CONFIG.key,
    )
    body = {
        "method": "createLinkPayment",
        "payee": {"payeeId": "3048", "login": CONFIG.login, "dt": dt, "signature": good},
        "order": {"shopOrderNumber": "bz-9", "billAmount": "1", "billCurrency": "UAH"},
    }
    async with httpx.AsyncClient() as http:
        answer = (await http.post(fake.url, json=body)).json()
        assert answer["errorCode"] == ERR_SIGNATURE
        body["order"]["billAmount"] = "10"  # type: ignore[index]
        answer = (await http.post(fake.url, json=body)).json()
        assert answer["errorCode"] == "0" and answer["linkPayment"]


async def test_a_wrong_payee_or_login_is_refused(fake: FakePortmone) -> None:
    for config in (replace(fake.config, payee_id="1"), replace(fake.config, login="other")):
        async with PortmoneClient(config) as client:
            with pytest.raises(PortmoneError) as caught:
                await make_link(client)
        assert caught.value.code == ERR_AUTH


async def test_amounts_and_currencies_are_checked_before_sending(client: PortmoneClient) -> None:
    for amount in ("0", "-5", "1.005"):
        with pytest.raises(ValueError):
            await make_link(client, amount=amount)
    with pytest.raises(ValueError):
        await client.create_link(
            shop_order_number="x",
            amount=Decimal(1),
            currency="XTR",
            description="",
            success_url="https://a",
            failure_url="https://b",
        )


async def test_result_of_an_unpaid_order(client: PortmoneClient) -> None:
    await make_link(client)
    order = await client.result(shop_order_number="bz-1")
    assert order is not None
    assert order.status is PortmoneStatus.CREATED and not order.is_paid
    assert order.amount == Decimal("150.50") and order.currency == "UAH"
    assert order.shop_order_number == "bz-1" and order.shop_bill_id


async def test_result_of_a_paid_order(fake: FakePortmone, client: PortmoneClient) -> None:
    await make_link(client)
    paid = await fake.pay("bz-1")
    order = await client.result(shop_order_number="bz-1")
    assert order is not None and order.is_paid
    assert order.status is PortmoneStatus.PAYED
    assert order.amount == Decimal("150.50")
    assert order.shop_bill_id == paid.shop_bill_id
    assert order.pay_date and order.error_message is None
    sent = fake.requests[-1].body
    assert sent["method"] == "result"
    assert sent["params"]["data"] == {
        "login": "SHOP_LOGIN",
        "password": "s3cret-pass",
        "payeeId": "3048",
        "shopOrderNumber": "bz-1",
    }


async def test_result_reports_what_was_actually_paid(
    fake: FakePortmone, client: PortmoneClient
) -> None:
    await make_link(client)
    await fake.pay("bz-1", amount=Decimal("1.00"))
    order = await client.result(shop_order_number="bz-1")
    assert order is not None and order.amount == Decimal("1.00")


async def test_result_of_a_rejected_and_a_refunded_order(
    fake: FakePortmone, client: PortmoneClient
) -> None:
    await make_link(client, "bz-r")
    fake.reject("bz-r", "Insufficient funds")
    rejected = await client.result(shop_order_number="bz-r")
    assert rejected is not None and rejected.status is PortmoneStatus.REJECTED
    assert rejected.error_message == "Insufficient funds" and rejected.error_code

    await make_link(client, "bz-f")
    await fake.pay("bz-f")
    fake.refund("bz-f")
    refunded = await client.result(shop_order_number="bz-f")
    assert refunded is not None and refunded.status is PortmoneStatus.RETURN


async def test_result_of_an_unknown_order_is_none(client: PortmoneClient) -> None:
    assert await client.result(shop_order_number="never-made") is None


async def test_result_with_a_wrong_password_raises(fake: FakePortmone) -> None:
    async with PortmoneClient(replace(fake.config, password="guess")) as client:
        with pytest.raises(PortmoneError) as caught:
            await client.result(shop_order_number="bz-1")
    assert caught.value.code == ERR_AUTH


async def test_refund_through_the_gateway(fake: FakePortmone, client: PortmoneClient) -> None:
    await make_link(client)
    with pytest.raises(PortmoneError):  # nothing paid yet
        await client.refund(shop_order_number="bz-1", amount=Decimal("150.50"))
    await fake.pay("bz-1")
    refunded = await client.refund(shop_order_number="bz-1", amount=Decimal("150.50"))
    assert refunded.status is PortmoneStatus.RETURN
    assert fake.order("bz-1").status is PortmoneStatus.RETURN
    with pytest.raises(PortmoneError):  # not twice
        await client.refund(shop_order_number="bz-1", amount=Decimal("150.50"))


async def test_a_paid_order_cannot_get_a_new_link(
    fake: FakePortmone, client: PortmoneClient
) -> None:
    await make_link(client)
    await make_link(client)  # an unpaid order may be asked for again
    await fake.pay("bz-1")
    with pytest.raises(PortmoneError):
        await make_link(client)


async def test_server_errors_raise_and_the_next_call_works(
    fake: FakePortmone, client: PortmoneClient
) -> None:
    fake.fail_next(2)
    with pytest.raises(PortmoneError) as caught:
        await make_link(client)
    assert caught.value.code == "http_503"
    with pytest.raises(PortmoneError):
        await client.result(shop_order_number="bz-1")
    assert await make_link(client)


async def test_a_gateway_that_does_not_answer_in_time(fake: FakePortmone) -> None:
    fake.stall_next(1, seconds=5)
    async with PortmoneClient(fake.config, timeout=0.2) as client:
        with pytest.raises(PortmoneError) as caught:
            await client.result(shop_order_number="bz-1")
    assert caught.value.code == "timeout"


async def test_an_unreachable_gateway(fake: FakePortmone) -> None:
    config = fake.config
    await fake.stop()
    async with PortmoneClient(config) as client:
        with pytest.raises(PortmoneError) as caught:
            await client.result(shop_order_number="bz-1")
    assert caught.value.code == "network"


@pytest.fixture
async def odd_gateway() -> AsyncIterator[tuple[str, list[Any]]]:
    """A server answering each POST with the next canned (status, body text)."""
    answers: list[Any] = []

    async def handle(request: web.Request) -> web.Response:
        status, text = answers.pop(0)
        return web.Response(status=status, text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/gateway/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/gateway/", answers
    finally:
        await runner.cleanup()


async def test_answers_that_make_no_sense_raise(odd_gateway: tuple[str, list[Any]]) -> None:
    url, answers = odd_gateway
    async with PortmoneClient(replace(CONFIG, url=url)) as client:
        for status, text in [
            (200, "<html>maintenance</html>"),
            (200, json.dumps({"errorCode": "0"})),  # no link
            (200, json.dumps({"linkPayment": "javascript:alert(1)", "errorCode": "0"})),
        ]:
            answers.append((status, text))
            with pytest.raises(PortmoneError) as caught:
                await make_link(client)
            assert caught.value.code == "bad_response"
        for text in [
            json.dumps({"unexpected": True}),
            json.dumps([{"shopOrderNumber": "bz-1", "status": "WEIRD", "billAmount": "1"}]),
            json.dumps([{"shopOrderNumber": "bz-1", "status": "PAYED"}]),  # no amount
        ]:
            answers.append((200, text))
            with pytest.raises(PortmoneError) as caught:
                await client.result(shop_order_number="bz-1")
            assert caught.value.code == "bad_response"


async def test_a_payment_of_another_merchant_is_refused(
    odd_gateway: tuple[str, list[Any]],
) -> None:
    url, answers = odd_gateway
    entry = {
        "shopOrderNumber": "bz-1",
        "shopBillId": "7",
        "status": "PAYED",
        "billAmount": "150.5",
        "payee_id": "9999",
    }
    answers.append((200, json.dumps([entry])))
    async with PortmoneClient(replace(CONFIG, url=url)) as client:
        with pytest.raises(PortmoneError) as caught:
            await client.result(shop_order_number="bz-1")
    assert caught.value.code == "payee_mismatch"


async def test_the_paid_attempt_wins_over_failed_ones(odd_gateway: tuple[str, list[Any]]) -> None:
    """One order number can carry several attempts; the one that took money is the answer."""
    url, answers = odd_gateway
    entries = [
        {
            "shopOrderNumber": "bz-1",
            "shopBillId": "1",
            "status": "REJECTED",
            "billAmount": "5",
            "errorCode": "6",
            "errorMessage": "Declined",
        },
        {"shopOrderNumber": "bz-1", "shopBillId": "2", "status": "PAYED", "billAmount": "5"},
        {"shopOrderNumber": "bz-2", "shopBillId": "3", "status": "PAYED", "billAmount": "9"},
    ]
    answers.append((200, json.dumps(entries)))
    async with PortmoneClient(replace(CONFIG, url=url)) as client:
        order = await client.result(shop_order_number="bz-1")
    assert order is not None and order.shop_bill_id == "2" and order.is_paid


async def test_a_shared_http_client_is_left_open(fake: FakePortmone) -> None:
    async with httpx.AsyncClient() as http:
        client = PortmoneClient(fake.config, http=http)
        await make_link(client)
        await client.aclose()
        assert not http.is_closed


def test_secrets_stay_out_of_reprs() -> None:
    assert "s3cret-pass" not in repr(CONFIG) and "k3y-for-signing" not in repr(CONFIG)
