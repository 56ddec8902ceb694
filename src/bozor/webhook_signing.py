"""How Bozor signs webhook deliveries, and how a receiver checks them. Dependency-free, so an
integrator can copy it or import it from `bozor.client`.

Each delivery carries `X-Bozor-Timestamp` (Unix seconds) and
`X-Bozor-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{raw body}" keyed with the
subscription's secret>`. Signing the timestamp with the body makes an old delivery useless to
replay once it falls outside the receiver's tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SCHEME = "v1"


class WebhookVerificationError(Exception):
    """The delivery is not from Bozor, was altered, or is too old."""


def sign_webhook(secret: str, body: bytes, timestamp: str | int) -> str:
    """The X-Bozor-Signature value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> Any:
    """The delivery's JSON if the signature matches and the timestamp is within `tolerance`
    seconds; raises WebhookVerificationError otherwise."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        raise WebhookVerificationError("the timestamp is not a number") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise WebhookVerificationError("the timestamp is outside the tolerance")
    expected = sign_webhook(secret, body, sent_at)
    offered = [part.strip() for part in signature.split(",")]  # several during a rotation
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise WebhookVerificationError("the signature does not match")
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
