"""Client of Portmone's JSON gateway (https://docs.portmone.com.ua/docs/en/PaymentGatewayEng).

Three calls, all a JSON POST to one URL (`PORTMONE_URL`, by default their production gateway):

- `createLinkPayment` — signed with HMAC-SHA256 (`signature()`); answers with the link the buyer
  opens to pay.
- `result` — login and password; the list of payments Portmone holds for an order number. This
  is the only thing to believe about a payment: notifications are not signed.
- `return` — a refund of a paid order.

Notifications Portmone sends about a payment (JSON, or the form the buyer's browser posts back
to `successUrl`) are read by `parse_notification()`; they only say *which* order to look up.
What their documentation does not spell out is written down in docs/payments.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

import httpx

log = logging.getLogger(__name__)

DEFAULT_URL = "https://www.portmone.com.ua/gateway/"
CURRENCIES = ("UAH", "USD", "EUR", "GBP", "PLN", "KZT")  # what the gateway bills in
LANGUAGES = ("uk", "en", "ru")  # languages of Portmone's payment page
DT_FORMAT = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class PortmoneConfig:
    """A merchant's credentials: payee id and login are public, password and key are secret."""

    payee_id: str
    login: str
    password: str = field(repr=False)
    key: str = field(repr=False)
    url: str = DEFAULT_URL


class PortmoneStatus(StrEnum):
    """A payment's status in Portmone (their spelling: PAYED)."""

    CREATED = "CREATED"  # link made, not paid (yet)
    PAYED = "PAYED"  # money taken
    REJECTED = "REJECTED"  # the payment failed (declined card, 3-D Secure, expired)
    RETURN = "RETURN"  # refunded
    PREAUTH = "PREAUTH"  # money only held on the card (pre-authorisation)


@dataclass(frozen=True)
class PortmoneLink:
    url: str  # where the buyer pays
    payment_id: str | None  # Portmone's id of the payment when the answer names one


@dataclass(frozen=True)
class PortmoneOrder:
    """One payment as Portmone's `result` reports it."""

    shop_order_number: str
    shop_bill_id: str
    status: PortmoneStatus
    amount: Decimal
    currency: str
    error_message: str | None
    error_code: str | None = None
    pay_date: str | None = None  # as Portmone writes it, e.g. "13.05.2025 14:03:52"
    description: str = ""

    @property
    def is_paid(self) -> bool:
        return self.status is PortmoneStatus.PAYED


@dataclass(frozen=True)
class PortmoneNotification:
    """What a notification claims. Unsigned: only a hint to call `PortmoneClient.result()`."""

    shop_order_number: str
    shop_bill_id: str | None
    status: PortmoneStatus | None
    amount: Decimal | None
    currency: str | None = None


class PortmoneError(Exception):
    """The gateway could not be reached, failed, or refused the request.

    `code` is Portmone's errorCode when it gave one, else one of ours: `timeout`, `network`,
    `http_<status>`, `bad_response`, `payee_mismatch`.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"Portmone error {code}: {message}")

    @property
    def answered(self) -> bool:
        """Portmone itself answered (and refused). False when what became of the request is
        unknown: no answer, a network or HTTP error, an answer that could not be read."""
        return self.code not in {"timeout", "network", "bad_response"} and not (
            self.code.startswith("http_")
        )


class PortmoneNotificationError(ValueError):
    """A notification body that cannot be read (malformed, or missing the order number)."""


# ------------------------------------------------------------------------------ signing


def format_amount(amount: Decimal) -> str:
    """The amount as the gateway is sent it and signs it: plain digits, no trailing zeros.

    Portmone's own PHP modules concatenate a PHP float into the signed string (100.5 → "100.5",
    100.0 → "100"); sending the same text keeps the signature right however they read it.
    """
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be positive, not {amount}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount has more than two decimal places: {amount}")
    return format(amount.normalize(), "f")


def signature(
    *, payee_id: str, dt: str, shop_order_number: str, amount: str, login: str, key: str
) -> str:
    """HMAC-SHA256 of createLinkPayment, upper-case hex, as Portmone documents it.

    The signed text is upper(payeeId + dt + hex(shopOrderNumber) + billAmount) followed by
    upper(hex(login)), where hex() is the hex of the UTF-8 bytes; the key is the merchant's key.
    """
    message = (payee_id + dt + shop_order_number.encode().hex() + amount).upper()
    message += login.encode().hex().upper()
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def now_dt() -> str:
    """The `dt` of a signed request: the current time as YYYYMMDDHHMMSS (UTC)."""
    return datetime.now(UTC).strftime(DT_FORMAT)


# ------------------------------------------------------------------------------ the client


class PortmoneClient:
    """Portmone's JSON gateway over httpx. Raises `PortmoneError` for anything but an answer."""

    def __init__(
        self,
        config: PortmoneConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout

    async def __aenter__(self) -> PortmoneClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def create_link(
        self,
        *,
        shop_order_number: str,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        failure_url: str,
        language: str = "en",
    ) -> PortmoneLink:
        """A payment link for an order (createLinkPayment); the buyer pays by opening it."""
        if not shop_order_number:
            raise ValueError("shop_order_number is empty")
        if currency not in CURRENCIES:
            raise ValueError(f"Portmone bills in {', '.join(CURRENCIES)}, not {currency}")
        bill_amount = format_amount(amount)
        dt = now_dt()
        cfg = self.config
        body = {
            "method": "createLinkPayment",
            "paymentTypes": {
                "card": "Y",
                "portmone": "Y",
                "token": "N",
                "clicktopay": "Y",
                "createtokenonly": "N",
                "gpay": "Y",
                "applepay": "Y",
            },
            "priorityPaymentTypes": {
                "card": "1",
                "gpay": "2",
                "applepay": "3",
                "clicktopay": "4",
                "portmone": "5",
                "token": "0",
                "createtokenonly": "0",
            },
            "payee": {
                "payeeId": cfg.payee_id,
                "login": cfg.login,
                "dt": dt,
                "signature": signature(
                    payee_id=cfg.payee_id,
                    dt=dt,
                    shop_order_number=shop_order_number,
                    amount=bill_amount,
                    login=cfg.login,
                    key=cfg.key,
                ),
                "shopSiteId": "",
            },
            "order": {
                "description": description[:250],
                "shopOrderNumber": shop_order_number,
                "billAmount": bill_amount,
                "billCurrency": currency,
                "successUrl": success_url,
                "failureUrl": failure_url,
                "preauthFlag": "N",
                "attribute1": "",
                "attribute2": "",
                "attribute3": "",
                "attribute4": "",
                "attribute5": "",
                "encoding": "UTF-8",
            },
            "token": {
                "tokenFlag": "N",
                "returnToken": "N",
                "token": "",
                "cardMask": "",
                "otherPaymentMethods": "Y",
            },
            "payer": {"lang": _page_language(language), "emailAddress": "", "showEmail": "N"},
        }
        answer = await self._post(body)
        if not isinstance(answer, dict):
            raise PortmoneError("bad_response", "createLinkPayment did not answer with an object")
        _raise_for_error(answer)
        link = answer.get("linkPayment")
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise PortmoneError("bad_response", "createLinkPayment answered without a link")
        payment_id = answer.get("shopBillId") or answer.get("paymentId")
        return PortmoneLink(url=link, payment_id=str(payment_id) if payment_id else None)

    async def result_all(self, *, shop_order_number: str) -> list[PortmoneOrder]:
        """Every payment Portmone holds under an order number (attempts, the payment, refunds)."""
        cfg = self.config
        body = {
            "method": "result",
            "params": {
                "data": {
                    "login": cfg.login,
                    "password": cfg.password,
                    "payeeId": cfg.payee_id,
                    "shopOrderNumber": shop_order_number,
                }
            },
            "id": "1",
        }
        answer = await self._post(body)
        if isinstance(answer, dict):  # an error object instead of the list
            _raise_for_error(answer)
            raise PortmoneError("bad_response", "result did not answer with a list")
        if not isinstance(answer, list):
            raise PortmoneError("bad_response", "result did not answer with a list")
        orders = [self._order(entry) for entry in answer]
        return [order for order in orders if order.shop_order_number == shop_order_number]

    async def result(self, *, shop_order_number: str) -> PortmoneOrder | None:
        """The authoritative state of an order's payment; None when Portmone has no payment."""
        orders = await self.result_all(shop_order_number=shop_order_number)
        if not orders:
            return None
        # Several entries are several attempts; the one that took (or returned) money wins.
        return min(orders, key=lambda order: _PRECEDENCE[order.status])

    async def refund(
        self, *, shop_order_number: str, amount: Decimal, message: str = ""
    ) -> PortmoneOrder:
        """Return money of a paid order (method `return`); the refunded payment (RETURN)."""
        cfg = self.config
        body = {
            "method": "return",
            "params": {
                "data": {
                    "login": cfg.login,
                    "password": cfg.password,
                    "payeeId": cfg.payee_id,
                    "shopOrderNumber": shop_order_number,
                    "returnAmount": format_amount(amount),
                    "message": message[:250],
                }
            },
            "id": "1",
        }
        answer = await self._post(body)
        entries = answer if isinstance(answer, list) else [answer]
        if not entries or not isinstance(entries[0], dict):
            raise PortmoneError("bad_response", "return answered with nothing")
        order = self._order(entries[0])
        if order.status is not PortmoneStatus.RETURN:
            raise PortmoneError(
                order.error_code or "not_returned",
                order.error_message or f"the payment is {order.status}, not returned",
            )
        return order

    # -------------------------------------------------------------------- internals

    async def _post(self, body: dict[str, Any]) -> Any:
        method = body["method"]
        try:
            response = await self._http.post(
                self.config.url,
                json=body,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            log.warning("Portmone %s: no answer in %s s", method, self._timeout)
            raise PortmoneError("timeout", f"{method}: no answer in {self._timeout} s") from exc
        except httpx.HTTPError as exc:
            log.warning("Portmone %s: %s", method, type(exc).__name__)
            raise PortmoneError("network", f"{method}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            log.warning("Portmone %s: HTTP %s", method, response.status_code)
            raise PortmoneError(
                f"http_{response.status_code}", f"{method}: HTTP {response.status_code}"
            )
        try:
            return response.json()
        except ValueError as exc:
            log.warning("Portmone %s: the answer is not JSON", method)
            raise PortmoneError("bad_response", f"{method}: the answer is not JSON") from exc

    def _order(self, entry: Any) -> PortmoneOrder:
        if not isinstance(entry, dict):
            raise PortmoneError("bad_response", "an order entry is not an object")
        status_text = entry.get("status")
        if not status_text:  # an entry that is only an error: the request itself failed
            _raise_for_error(entry)
            raise PortmoneError("bad_response", "an order entry has no status")
        try:
            status = PortmoneStatus(str(status_text).upper())
        except ValueError as exc:
            raise PortmoneError("bad_response", f"unknown status {status_text!r}") from exc
        payee = entry.get("payee_id", entry.get("payeeId"))
        if payee not in (None, "") and str(payee) != self.config.payee_id:
            raise PortmoneError("payee_mismatch", "the payment belongs to another merchant")
        amount = _decimal(entry.get("billAmount"))
        if amount is None:
            raise PortmoneError("bad_response", "an order entry has no billAmount")
        error_code = str(entry.get("errorCode") or "0")
        error_message = str(entry.get("errorMessage") or "") or None
        return PortmoneOrder(
            shop_order_number=str(entry.get("shopOrderNumber") or ""),
            shop_bill_id=str(entry.get("shopBillId") or entry.get("shopbillId") or ""),
            status=status,
            amount=amount,
            currency=str(entry.get("billCurrency") or "UAH"),
            error_message=error_message if error_code != "0" or error_message else None,
            error_code=None if error_code == "0" else error_code,
            pay_date=str(entry["pay_date"]) if entry.get("pay_date") else None,
            description=str(entry.get("description") or ""),
        )


_PRECEDENCE = {
    PortmoneStatus.RETURN: 0,
    PortmoneStatus.PAYED: 1,
    PortmoneStatus.PREAUTH: 2,
    PortmoneStatus.CREATED: 3,
    PortmoneStatus.REJECTED: 4,
}


def _page_language(language: str) -> str:
    # Portmone's page speaks Ukrainian, English and Russian; Bozor's Uzbek users get English.
    language = language.lower()[:2]
    if language == "ua":
        return "uk"
    return language if language in LANGUAGES else "en"


def _raise_for_error(answer: dict[str, Any]) -> None:
    """Raise when an answer object carries an error (errorCode ≠ 0, or an `error` object)."""
    error = answer.get("error")
    if isinstance(error, dict):
        raise PortmoneError(str(error.get("code") or "error"), str(error.get("message") or ""))
    code = answer.get("errorCode")
    if code is not None and str(code) != "0":
        message = answer.get("error") or answer.get("errorMessage") or "the gateway refused"
        raise PortmoneError(str(code), str(message))


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# ------------------------------------------------------------------------------ notifications


def parse_notification(body: bytes, content_type: str) -> PortmoneNotification:
    """Read a Portmone notification: the JSON one, or the form posted back to successUrl.

    Raises `PortmoneNotificationError` when the body cannot be read or names no order. The
    result is a claim, not a fact — confirm it with `PortmoneClient.result()`.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (not media and body.lstrip()[:1] in (b"{", b"[")):
        fields = _json_fields(body)
    elif media in ("application/x-www-form-urlencoded", ""):
        fields = _form_fields(body)
    else:
        raise PortmoneNotificationError(f"unsupported content type {media!r}")
    return _notification(fields)


def _json_fields(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PortmoneNotificationError("the body is not JSON") from exc
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise PortmoneNotificationError("the JSON is not an object")
    return {str(key).lower().replace("_", ""): value for key, value in data.items()}


def _form_fields(body: bytes) -> dict[str, Any]:
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PortmoneNotificationError("the body is not a form") from exc
    fields: dict[str, Any] = {
        key.lower().replace("_", ""): values[-1] for key, values in parsed.items()
    }
    # The browser's post-back says RESULT=0 for a payment that went through.
    if "status" not in fields and "result" in fields:
        fields["status"] = "PAYED" if str(fields["result"]).strip() == "0" else "REJECTED"
    return fields


def _notification(fields: dict[str, Any]) -> PortmoneNotification:
    number = fields.get("shopordernumber")
    if not isinstance(number, str | int) or isinstance(number, bool) or not str(number).strip():
        raise PortmoneNotificationError("no shopOrderNumber")
    bill = fields.get("shopbillid")
    status: PortmoneStatus | None = None
    status_text = fields.get("status")
    if status_text not in (None, ""):
        try:
            status = PortmoneStatus(str(status_text).strip().upper())
        except ValueError as exc:
            raise PortmoneNotificationError(f"unknown status {status_text!r}") from exc
    amount_text = fields.get("billamount", fields.get("amount"))
    amount = _decimal(amount_text)
    if amount_text not in (None, "") and amount is None:
        raise PortmoneNotificationError(f"billAmount {amount_text!r} is not a number")
    currency = fields.get("billcurrency") or fields.get("currency")
    return PortmoneNotification(
        shop_order_number=str(number).strip(),
        shop_bill_id=str(bill).strip() if bill not in (None, "") else None,
        status=status,
        amount=amount,
        currency=str(currency) if currency else None,
    )


def notification_ack() -> dict[str, str]:
    """What Portmone expects back from a notification endpoint (any payload, errorCode 0)."""
    return {
        "errorCode": "0",
        "reason": "OK",
        "responseId": datetime.now(UTC).strftime(DT_FORMAT),
    }
