"""The shop job sends through the runtime's bot: its Telegram calls take their turn in the
pacer and are retried and counted like every other call of the process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.shop.helpers import paid_order, queue_refund, refunded

from bozor.testing import Harness, api_url, eventually, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"shop_job_interval": 0.1, "http_port": free_port(), "throttle_burst": 100}


async def refund_calls(bozor: Harness) -> dict[str, float]:
    """refundStarPayment attempts by result, as the process's /metrics counts them."""
    async with httpx.AsyncClient(base_url=api_url(bozor)) as client:
        text = (await client.get("/metrics")).text
    return {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "bozor_telegram_calls_total"
        and sample.labels.get("method") == "refundStarPayment"
    }


async def test_the_jobs_refund_is_retried_and_counted_like_any_call(bozor: Harness) -> None:
    order_id = await paid_order(bozor, "Zuhra")
    # Telegram asks to wait once: the runtime's request middleware waits and tries again.
    await bozor.driver.inject_fault("refundStarPayment", error_code=429, retry_after=1)
    payment = await queue_refund(bozor, order_id)

    await eventually(lambda: refunded(bozor, payment.id), timeout=60)

    assert await refund_calls(bozor) == {"429": 1.0, "ok": 1.0}
