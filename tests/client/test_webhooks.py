"""Webhook signatures: one signing function for the server, verification for integrators."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import bozor.client
import bozor.webhook_signing
from bozor.client import WebhookVerificationError, sign_webhook, verify_webhook

SECRET = "whsec_test_0123456789"
BODY = json.dumps({"event": "referral.confirmed", "data": {"referrer_id": "alice"}}).encode()
NOW = 1_700_000_000  # November 2023


def test_the_signature_is_an_hmac_of_timestamp_and_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_webhook(SECRET, BODY, str(NOW)) == f"v1={expected}"
    assert sign_webhook(SECRET, BODY, NOW) == f"v1={expected}"
    assert bozor.client.sign_webhook is bozor.webhook_signing.sign_webhook, "one implementation"


def test_a_good_delivery_is_parsed() -> None:
    signature = sign_webhook(SECRET, BODY, str(NOW))
    payload = verify_webhook(SECRET, BODY, str(NOW), signature, now=NOW + 299)
    assert payload == {"event": "referral.confirmed", "data": {"referrer_id": "alice"}}
    rotating = f"v1={'0' * 64}, {signature}"  # old and new secret during a rotation
    assert verify_webhook(SECRET, BODY, str(NOW), rotating, now=NOW) == payload


@pytest.mark.parametrize(
    ("secret", "body", "timestamp", "now", "why"),
    [
        (SECRET, BODY.replace(b"alice", b"mallory"), str(NOW), NOW, "signature"),
        ("another secret", BODY, str(NOW), NOW, "signature"),
        (SECRET, BODY, str(NOW + 1), NOW, "signature"),  # the timestamp is signed too
        (SECRET, BODY, str(NOW), NOW + 301, "too far"),  # stale: a replay?
        (SECRET, BODY, str(NOW), NOW - 301, "too far"),  # from the future
        (SECRET, BODY, "yesterday", NOW, "not a number"),
    ],
)
def test_a_bad_delivery_is_refused(
    secret: str, body: bytes, timestamp: str, now: int, why: str
) -> None:
    signature = sign_webhook(SECRET, BODY, str(NOW))
    with pytest.raises(WebhookVerificationError, match=why):
        verify_webhook(secret, body, timestamp, signature, now=now)


@pytest.mark.parametrize("signature", ["", "v1=", "nonsense", "v1=zz", "v0=abc, v2=def", "v1=é"])
def test_malformed_signatures_are_refused(signature: str) -> None:
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(SECRET, BODY, str(NOW), signature, now=NOW)


def test_tolerance_and_clock() -> None:
    signature = sign_webhook(SECRET, BODY, str(NOW))
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, BODY, str(NOW), signature, tolerance=10, now=NOW + 11)
    with pytest.raises(WebhookVerificationError, match="too far"):
        verify_webhook(SECRET, BODY, str(NOW), signature)  # now = the real clock, years later


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_a_signed_body_must_be_a_json_object(body: bytes) -> None:
    signature = sign_webhook(SECRET, body, str(NOW))
    with pytest.raises(WebhookVerificationError, match="JSON"):
        verify_webhook(SECRET, body, str(NOW), signature, now=NOW)
