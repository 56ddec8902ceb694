"""Signed session cookies and CSRF tokens for the dashboard (no server-side session store).

A cookie is `base64url(json).base64url(hmac-sha256)`, keyed by a secret derived from the API
secret, so every instance reads it and rotating API_SECRET signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bozor.api.auth import signing_secret
from bozor.settings import Settings

SESSION_COOKIE = "bozor_dashboard"
SIGNIN_COOKIE = "bozor_dashboard_signin"  # carries the sign-in form's CSRF token
SIGNIN_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class Session:
    subject: str  # "key:<id>" or "password"
    csrf: str
    expires: float


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(f"bozor-dashboard:{signing_secret(settings)}".encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(settings: Settings, value: str | None) -> dict[str, Any] | None:
    """The payload of a cookie this server signed and that has not expired; None otherwise."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or float(payload.get("exp", 0)) < time.time():
        return None
    return payload


def new_session(settings: Settings, subject: str) -> tuple[Session, str]:
    """A fresh session (new CSRF token) and its cookie value."""
    session = Session(
        subject, secrets.token_urlsafe(24), time.time() + settings.dashboard_session_hours * 3600
    )
    return session, sign(settings, {"sub": subject, "csrf": session.csrf, "exp": session.expires})


def read_session(settings: Settings, value: str | None) -> Session | None:
    payload = unsign(settings, value)
    if payload is None or not isinstance(payload.get("sub"), str):
        return None
    return Session(payload["sub"], str(payload.get("csrf", "")), float(payload["exp"]))


def signin_token(settings: Settings) -> tuple[str, str]:
    """A CSRF token for the sign-in form and the cookie that vouches for it."""
    token = secrets.token_urlsafe(24)
    return token, sign(settings, {"csrf": token, "exp": time.time() + SIGNIN_SECONDS})


def same_token(expected: str | None, presented: str | None) -> bool:
    return (
        bool(expected) and bool(presented) and hmac.compare_digest(expected or "", presented or "")
    )


def password_matches(settings: Settings, presented: str) -> bool:
    """Whether `presented` is the DASHBOARD_PASSWORD (plain, or given as sha256:<hex>);
    compared as digests, in constant time."""
    if settings.dashboard_password is None or not presented:
        return False
    configured = settings.dashboard_password.get_secret_value()
    digest = hashlib.sha256(presented.encode()).hexdigest()
    if configured.startswith("sha256:"):
        expected = configured.removeprefix("sha256:").strip().lower()
    else:
        expected = hashlib.sha256(configured.encode()).hexdigest()
    return hmac.compare_digest(digest, expected)
