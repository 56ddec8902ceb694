"""How Bozor signs webhook deliveries; the server signs with it, the client verifies with it.

A delivery carries `X-Bozor-Timestamp: <unix seconds>` and
`X-Bozor-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret>`.
Standard library only: integrators import this through `bozor.client`.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Bozor-Timestamp"
SIGNATURE_HEADER = "X-Bozor-Signature"
SCHEME = "v1"


def sign_webhook(secret: str, body: bytes, timestamp: str | int) -> str:
    """The `X-Bozor-Signature` value for this body sent at this time: `v1=<hex>`."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"
