"""Telegram Mini App `initData` (https://core.telegram.org/bots/webapps#validating-data-received-
via-the-mini-app): how it is signed and checked. The Mini App checks it on every request; the
emulator signs it when its web chat opens a Mini App.

`initData` is a query string (`query_id`, `user` as JSON, `auth_date`, ..., `hash`); `hash` is
the hex HMAC-SHA256 of the "data-check-string" (every other field as `key=value`, sorted by key,
joined by newlines), keyed by HMAC-SHA256("WebAppData", bot token). The check is aiogram's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from aiogram.utils.web_app import WebAppUser, safe_parse_webapp_init_data

MAX_LENGTH = 4096  # initData Telegram sends is far shorter; longer is refused before hashing


@dataclass(frozen=True, slots=True)
class InitData:
    """What a verified `initData` says: who opened the Mini App, when."""

    user: WebAppUser
    auth_date: int
    query_id: str | None
    start_param: str | None


class InitDataRefused(Exception):
    """Missing, malformed, forged (bad hash) or stale `initData`; `reason` says which (for the
    logs only: the caller is told nothing)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign(bot_token: str, fields: Mapping[str, object]) -> str:
    """`fields` as a signed `initData` query string, as Telegram makes it (dicts become JSON)."""
    data = {
        key: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if isinstance(value, dict)
        else str(value)
        for key, value in fields.items()
        if value is not None and key != "hash"
    }
    check = "\n".join(f"{key}={data[key]}" for key in sorted(data))
    digest = hmac.new(secret_key(bot_token), check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**data, "hash": digest})


def verify(
    bot_token: str, init_data: str | None, *, max_age: float, now: float | None = None
) -> InitData:
    """The verified `initData`, or InitDataRefused."""
    if not init_data:
        raise InitDataRefused("missing")
    if len(init_data) > MAX_LENGTH:
        raise InitDataRefused("too long")
    try:
        parsed = safe_parse_webapp_init_data(bot_token, init_data)
    except ValueError:
        raise InitDataRefused("bad signature or malformed") from None
    if parsed.user is None:
        raise InitDataRefused("no user")
    auth_date = int(parsed.auth_date.timestamp())
    age = (time.time() if now is None else now) - auth_date
    if age > max_age:
        raise InitDataRefused("stale")
    if age < -300:  # signed in the future: a clock this far off is not Telegram's
        raise InitDataRefused("from the future")
    return InitData(parsed.user, auth_date, parsed.query_id, parsed.start_param)
