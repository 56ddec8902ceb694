"""A fake Portmone gateway: a real HTTP server on 127.0.0.1 for tests and the demo.

It speaks the formats `bozor.payments.portmone` sends and reads — createLinkPayment (signature
checked), result and return (login and password checked) — keeps the orders, serves a small
payment page behind each link, and sends the JSON notification Portmone sends a merchant after a
payment. Tests steer it::

    async with FakePortmone(config, callback_url="http://127.0.0.1:8080/payments/portmone") as fake:
        client = PortmoneClient(fake.config)
        link = await client.create_link(...)
        await fake.pay("order-1")            # paid, and the notification is posted
        await fake.notify("order-1", billAmount="1.00")   # a forged one

Where Portmone's behaviour is not documented the fake's choice is listed in docs/payments.md.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any

import httpx
from aiohttp import web

from bozor.payments.portmone import (
    CURRENCIES,
    DT_FORMAT,
    PortmoneConfig,
    PortmoneStatus,
    format_amount,
    signature,
)

# The fake's error codes (Portmone's own numbers are not published; see docs/payments.md).
ERR_FORMAT = "1"  # the request is not what the method expects
ERR_AUTH = "2"  # payee id, login or password wrong
ERR_SIGNATURE = "3"  # createLinkPayment signature does not match
ERR_ORDER = "4"  # the order cannot be created or changed as asked
ERR_NOT_FOUND = "5"  # no such order
ERR_DECLINED = "6"  # the card was declined (a REJECTED payment's errorCode)
DT_WINDOW = timedelta(hours=26)  # how far `dt` may stray from now (time zones, clock skew)


@dataclass
class FakeOrder:
    """An order as the fake gateway holds it."""

    shop_order_number: str
    shop_bill_id: str
    amount: Decimal
    currency: str
    description: str
    success_url: str
    failure_url: str
    language: str
    status: PortmoneStatus = PortmoneStatus.CREATED
    paid_amount: Decimal | None = None
    pay_date: str | None = None
    error_code: str = "0"
    error_message: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    link_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def entry(self, payee_id: str) -> dict[str, Any]:
        """The order as `result` reports it."""
        return {
            "shopBillId": self.shop_bill_id,
            "shopOrderNumber": self.shop_order_number,
            "description": self.description,
            "billAmount": format_amount(self.paid_amount or self.amount),
            "billCurrency": self.currency,
            "status": self.status.value,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "payee_id": payee_id,
            "pay_date": self.pay_date or "",
            "authCode": "" if self.pay_date is None else "A1B2C3",
            "cardMask": "" if self.pay_date is None else "444433******1111",
            "chargeback": "N",
            **{f"attribute{i}": self.attributes.get(f"attribute{i}", "") for i in range(1, 5)},
        }


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake received: the method named in it and the whole JSON body."""

    method: str
    body: Any
    status: int


@dataclass(frozen=True)
class Delivery:
    """One notification the fake posted: where, what, and the HTTP status (None: no answer)."""

    url: str
    body: dict[str, Any]
    status: int | None


class _GatewayError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FakePortmone:
    """Portmone's JSON gateway on a loopback port; `async with FakePortmone(config) as fake`."""

    def __init__(
        self, config: PortmoneConfig | None = None, *, callback_url: str | None = None
    ) -> None:
        self._given = config or PortmoneConfig(
            payee_id="1185", login="bozor_shop", password="fake-password", key="fake-signing-key"
        )
        self.callback_url = callback_url  # the merchant's notification URL (set in their account)
        self.orders: dict[str, FakeOrder] = {}
        self.requests: list[FakeRequest] = []
        self.notifications: list[Delivery] = []
        self._fail_next = 0
        self._stall: tuple[int, float] = (0, 0.0)
        self._bill_ids = 900_000
        self._runner: web.AppRunner | None = None
        self._base: str | None = None
        self._http: httpx.AsyncClient | None = None
        self.app = web.Application()
        self.app.router.add_post("/gateway/", self._handle_gateway)
        self.app.router.add_post("/gateway", self._handle_gateway)
        self.app.router.add_get("/pay/{token}", self._handle_page)
        self.app.router.add_post("/pay/{token}", self._handle_page_action)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self._base is None:
            raise RuntimeError("the fake Portmone is not running; use `async with`")
        return self._base

    @property
    def url(self) -> str:
        """The gateway URL (PORTMONE_URL)."""
        return f"{self.base_url}/gateway/"

    @property
    def config(self) -> PortmoneConfig:
        """The merchant's config pointing at this fake."""
        return replace(self._given, url=self.url)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._http = httpx.AsyncClient(timeout=10.0)
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._base = f"http://{host}:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._base = None

    async def __aenter__(self) -> FakePortmone:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls

    def fail_next(self, n: int = 1) -> None:
        """The next `n` gateway requests get HTTP 503."""
        self._fail_next = n

    def stall_next(self, n: int = 1, seconds: float = 30.0) -> None:
        """The next `n` gateway requests are answered only after `seconds` (for timeouts)."""
        self._stall = (n, seconds)

    def order(self, shop_order_number: str) -> FakeOrder:
        try:
            return self.orders[shop_order_number]
        except KeyError:
            raise KeyError(f"the fake Portmone has no order {shop_order_number!r}") from None

    async def pay(self, shop_order_number: str, amount: Decimal | None = None) -> FakeOrder:
        """The buyer pays (`amount`: a different sum than billed); the notification is posted."""
        order = self.order(shop_order_number)
        order.status = PortmoneStatus.PAYED
        order.paid_amount = amount
        order.pay_date = _pay_date()
        order.error_code, order.error_message = "0", ""
        await self._send_notification(order)
        return order

    def reject(self, shop_order_number: str, message: str = "Card declined") -> FakeOrder:
        """The payment fails (Portmone sends no notification for that)."""
        order = self.order(shop_order_number)
        order.status = PortmoneStatus.REJECTED
        order.error_code, order.error_message = ERR_DECLINED, message
        return order

    def refund(self, shop_order_number: str, amount: Decimal | None = None) -> FakeOrder:
        """The merchant refunds the payment in Portmone's back office."""
        order = self.order(shop_order_number)
        if order.status is not PortmoneStatus.PAYED:
            raise ValueError(f"order {shop_order_number} is {order.status}, not paid")
        order.status = PortmoneStatus.RETURN
        if amount is not None:
            order.paid_amount = amount
        return order

    async def notify(self, shop_order_number: str, **overrides: Any) -> int | None:
        """Post a notification (a duplicate, or forged with `overrides` of its JSON fields)."""
        order = self.orders.get(shop_order_number)
        body = (
            self._notification_body(order)
            if order is not None
            else {
                "shopOrderNumber": shop_order_number,
                "shopBillId": "",
                "status": "PAYED",
                "billAmount": "",
                "billCurrency": "UAH",
                "payeeId": self._given.payee_id,
            }
        )
        body.update({key: str(value) for key, value in overrides.items()})
        return await self._post_notification(body)

    # ------------------------------------------------------------------ notifications

    def _notification_body(self, order: FakeOrder) -> dict[str, Any]:
        return {
            "shopOrderNumber": order.shop_order_number,
            "shopBillId": order.shop_bill_id,
            "billAmount": format_amount(order.paid_amount or order.amount),
            "billCurrency": order.currency,
            "status": order.status.value,
            "payeeId": self._given.payee_id,
            "payDate": order.pay_date or "",
            "description": order.description,
        }

    async def _send_notification(self, order: FakeOrder) -> None:
        await self._post_notification(self._notification_body(order))

    async def _post_notification(self, body: dict[str, Any]) -> int | None:
        if self.callback_url is None or self._http is None:
            return None
        try:
            response = await self._http.post(self.callback_url, json=body)
        except httpx.HTTPError:
            self.notifications.append(Delivery(self.callback_url, body, None))
            return None
        self.notifications.append(Delivery(self.callback_url, body, response.status_code))
        return response.status_code

    # ------------------------------------------------------------------ the gateway

    async def _handle_gateway(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        method = str(body.get("method", "")) if isinstance(body, dict) else ""
        stalls, seconds = self._stall
        if stalls > 0:
            self._stall = (stalls - 1, seconds)
            await asyncio.sleep(seconds)
        if self._fail_next > 0:
            self._fail_next -= 1
            self.requests.append(FakeRequest(method, body, 503))
            return web.Response(status=503, text="Service Temporarily Unavailable")
        self.requests.append(FakeRequest(method, body, 200))
        if not isinstance(body, dict):
            return web.json_response({"errorCode": ERR_FORMAT, "error": "Invalid JSON request"})
        handlers = {
            "createLinkPayment": self._create_link,
            "result": self._result,
            "return": self._return,
        }
        handler = handlers.get(method)
        if handler is None:
            return web.json_response(
                {"errorCode": ERR_FORMAT, "error": f"Unknown method {method!r}"}
            )
        try:
            return web.json_response(handler(body))
        except _GatewayError as exc:
            if method == "createLinkPayment":
                return web.json_response({"errorCode": exc.code, "error": exc.message})
            return web.json_response([{"errorCode": exc.code, "errorMessage": exc.message}])

    def _create_link(self, body: dict[str, Any]) -> dict[str, Any]:
        payee, order_in = body.get("payee"), body.get("order")
        if not isinstance(payee, dict) or not isinstance(order_in, dict):
            raise _GatewayError(ERR_FORMAT, "payee and order blocks are required")
        cfg = self._given
        if str(payee.get("payeeId")) != cfg.payee_id or payee.get("login") != cfg.login:
            raise _GatewayError(ERR_AUTH, "Unknown payee or login")
        dt = str(payee.get("dt") or "")
        number = str(order_in.get("shopOrderNumber") or "")
        amount_text = str(order_in.get("billAmount") or "")
        _check_dt(dt)
        expected = signature(
            payee_id=cfg.payee_id,
            dt=dt,
            shop_order_number=number,
            amount=amount_text,
            login=cfg.login,
            key=cfg.key,
        )
        if str(payee.get("signature") or "") != expected:
            raise _GatewayError(ERR_SIGNATURE, "Invalid signature")
        if not number or len(number) > 120:
            raise _GatewayError(ERR_FORMAT, "shopOrderNumber is required (up to 120 characters)")
        amount = _amount(amount_text)
        currency = str(order_in.get("billCurrency") or "UAH")
        if currency not in CURRENCIES:
            raise _GatewayError(ERR_FORMAT, f"Unsupported billCurrency {currency}")
        existing = self.orders.get(number)
        if existing is not None and existing.status is not PortmoneStatus.CREATED:
            raise _GatewayError(ERR_ORDER, f"Order {number} is already {existing.status}")
        payer = body.get("payer") if isinstance(body.get("payer"), dict) else {}
        self._bill_ids += 1
        order = FakeOrder(
            shop_order_number=number,
            shop_bill_id=existing.shop_bill_id if existing else str(self._bill_ids),
            amount=amount,
            currency=currency,
            description=str(order_in.get("description") or ""),
            success_url=str(order_in.get("successUrl") or ""),
            failure_url=str(order_in.get("failureUrl") or ""),
            language=str((payer or {}).get("lang") or "uk"),
            attributes={
                f"attribute{i}": str(order_in.get(f"attribute{i}") or "") for i in range(1, 6)
            },
        )
        self.orders[number] = order
        return {
            "linkPayment": f"{self.base_url}/pay/{order.link_token}",
            "errorCode": "0",
            "error": "",
        }

    def _credentials(self, body: dict[str, Any]) -> dict[str, Any]:
        params = body.get("params")
        data = params.get("data") if isinstance(params, dict) else None
        if not isinstance(data, dict):
            raise _GatewayError(ERR_FORMAT, "params.data is required")
        cfg = self._given
        if (
            str(data.get("payeeId")) != cfg.payee_id
            or data.get("login") != cfg.login
            or data.get("password") != cfg.password
        ):
            raise _GatewayError(ERR_AUTH, "Invalid login or password")
        return data

    def _result(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        data = self._credentials(body)
        number = str(data.get("shopOrderNumber") or "")
        bill = str(data.get("shopbillId") or data.get("shopBillId") or "")
        status = str(data.get("status") or "")
        return [
            order.entry(self._given.payee_id)
            for order in self.orders.values()
            if (not number or order.shop_order_number == number)
            and (not bill or order.shop_bill_id == bill)
            and (not status or order.status.value == status)
        ]

    def _return(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        data = self._credentials(body)
        number = str(data.get("shopOrderNumber") or "")
        order = self.orders.get(number)
        if order is None:
            raise _GatewayError(ERR_NOT_FOUND, f"Order {number} not found")
        if order.status is not PortmoneStatus.PAYED:
            raise _GatewayError(ERR_ORDER, f"Order {number} is {order.status}, not paid")
        amount = _amount(str(data.get("returnAmount") or ""))
        if amount > (order.paid_amount or order.amount):
            raise _GatewayError(ERR_ORDER, "returnAmount exceeds the paid amount")
        order.status = PortmoneStatus.RETURN
        return [order.entry(self._given.payee_id)]

    # ------------------------------------------------------------------ the payment page

    def _order_by_token(self, token: str) -> FakeOrder:
        for order in self.orders.values():
            if order.link_token == token:
                return order
        raise web.HTTPNotFound(text="No such payment")

    async def _handle_page(self, request: web.Request) -> web.Response:
        order = self._order_by_token(request.match_info["token"])
        amount = f"{format_amount(order.amount)} {order.currency}"
        page = (
            "<!doctype html><meta charset=utf-8><title>Fake Portmone</title>"
            f"<h1>{html.escape(order.description)}</h1><p>{html.escape(amount)}</p>"
            f"<p>Status: {order.status.value}</p>"
        )
        if order.status is PortmoneStatus.CREATED:
            page += (
                "<form method=post><button name=action value=pay>Pay</button> "
                "<button name=action value=reject>Decline</button></form>"
            )
        return web.Response(text=page, content_type="text/html")

    async def _handle_page_action(self, request: web.Request) -> web.Response:
        order = self._order_by_token(request.match_info["token"])
        form = await request.post()
        if order.status is PortmoneStatus.CREATED:
            if form.get("action") == "pay":
                await self.pay(order.shop_order_number)
            else:
                self.reject(order.shop_order_number)
        target = order.success_url if order.status is PortmoneStatus.PAYED else order.failure_url
        if target:
            raise web.HTTPSeeOther(target)
        return await self._handle_page(request)


def _check_dt(dt: str) -> None:
    try:
        moment = datetime.strptime(dt, DT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _GatewayError(ERR_FORMAT, "dt must be YYYYMMDDHHMMSS") from None
    if abs(datetime.now(UTC) - moment) > DT_WINDOW:
        raise _GatewayError(ERR_SIGNATURE, "dt is too far from the current time")


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _GatewayError(ERR_FORMAT, f"Invalid amount {text!r}") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise _GatewayError(ERR_FORMAT, f"Invalid amount {text!r}")
    return amount


def _pay_date() -> str:
    return datetime.now(UTC).strftime("%d.%m.%Y %H:%M:%S")
