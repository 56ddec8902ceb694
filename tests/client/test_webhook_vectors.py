"""The webhook signature vectors shared with the JavaScript client (clients/js), checked
against `verify_webhook` and `sign_webhook`: the two clients accept and refuse alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bozor.client import WebhookVerificationError, verify_webhook
from bozor.webhook_signing import sign_webhook

VECTORS = Path(__file__).parents[2] / "clients" / "js" / "tests" / "webhook-vectors.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_shared_vector(case: dict[str, Any]) -> None:
    body = case["body"].encode()
    options = {"tolerance": case["tolerance"]} if "tolerance" in case else {}

    def verify() -> dict[str, Any]:
        return verify_webhook(
            case["secret"], body, case["timestamp"], case["signature"], now=case["now"], **options
        )

    if case["error"] is None:
        assert verify() == json.loads(body)
        assert sign_webhook(case["secret"], body, case["timestamp"]) in case["signature"]
    else:
        with pytest.raises(WebhookVerificationError) as raised:
            verify()
        assert str(raised.value) == case["error"]
