"""Telegram's Login Widget answer (https://core.telegram.org/widgets/login): how it is signed
and checked. The dashboard checks it; the emulator signs it to play the widget.

The answer is the user's fields plus `auth_date` and `hash`: `hash` is the hex HMAC-SHA256,
keyed by SHA-256(bot token), of the "data-check-string": every other field as `key=value`,
sorted by key, joined by newlines.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

# What the widget sends (besides hash); anything else in the callback's query is not signed.
FIELDS = ("id", "first_name", "last_name", "username", "photo_url", "auth_date")


def data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def signature(bot_token: str, fields: Mapping[str, str]) -> str:
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def signed(bot_token: str, fields: Mapping[str, object]) -> dict[str, str]:
    """`fields` (empty ones left out) with their `hash`, as the widget would answer."""
    data = {k: str(v) for k, v in fields.items() if v is not None and v != "" and k != "hash"}
    return {**data, "hash": signature(bot_token, data)}


@dataclass(frozen=True, slots=True)
class TelegramLogin:
    id: int
    name: str  # first and last name, and @username when there is one
    auth_date: int
    hash: str


class LoginRefused(Exception):
    """The answer is not Telegram's (bad signature), too old, or malformed; `reason` says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(
    bot_token: str, query: Mapping[str, str], *, max_age: float, now: float | None = None
) -> TelegramLogin:
    """The login in a widget answer, or LoginRefused."""
    fields = {key: query[key] for key in FIELDS if key in query}
    presented = query.get("hash", "")
    if not presented or "id" not in fields or "auth_date" not in fields:
        raise LoginRefused("incomplete")
    if not hmac.compare_digest(signature(bot_token, fields), presented.lower()):
        raise LoginRefused("bad_signature")
    try:
        user_id, auth_date = int(fields["id"]), int(fields["auth_date"])
    except ValueError:
        raise LoginRefused("incomplete") from None
    age = (time.time() if now is None else now) - auth_date
    if age > max_age or age < -300:  # a few minutes of clock skew are forgiven
        raise LoginRefused("stale")
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    if fields.get("username"):
        name = f"{name} (@{fields['username']})" if name else f"@{fields['username']}"
    return TelegramLogin(user_id, name or str(user_id), auth_date, presented.lower())
