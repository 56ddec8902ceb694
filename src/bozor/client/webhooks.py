"""Checking that a webhook delivery comes from Bozor, recently."""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from bozor.client.errors import BozorError
from bozor.webhook_signing import sign_webhook


class WebhookVerificationError(BozorError):
    """The delivery is not signed with the secret, is too old (a replay?), or is malformed."""


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance: int = 300,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON, once its signature and timestamp check out.

    `body` is the raw request body (before any JSON parsing), `timestamp` and `signature` the
    `X-Bozor-Timestamp` and `X-Bozor-Signature` headers. The signature header may list several
    comma-separated values (during a secret rotation); one matching is enough.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("The timestamp is not a number of seconds.") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise WebhookVerificationError("The timestamp is too far from now (a replay?).")
    expected = sign_webhook(secret, body, timestamp).encode()
    offered = [value.strip().encode() for value in signature.split(",")]
    matches = [hmac.compare_digest(expected, value) for value in offered]  # all, in full
    if not any(matches):
        raise WebhookVerificationError("The signature does not match.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("The body is not a JSON object.")
    return payload
