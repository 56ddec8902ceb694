"""Operations over HTTP: /readyz says what is down, /metrics counts updates, Telegram calls,
HTTP requests, job runs and backlogs; request and update ids reach the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.events import service as events
from bozor.faults import TcpProxy
from bozor.observability import logs
from bozor.testing import Harness, api_url, eventually, free_port, start_bozor

SECRET = "observability-webhook-secret"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(harness: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=api_url(harness)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture
async def bozor(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Harness]:
    port = free_port()
    async with start_bozor(
        emulator,
        database_url,
        db,
        http_port=port,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_secret=SECRET,
    ) as harness:
        yield harness


async def test_metrics_count_updates_by_handler_and_telegram_calls_by_result(
    bozor: Harness,
) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=429, retry_after=1, times=1)
    sent = await bozor.driver.send_message(member, "/help")
    await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"], timeout=10)

    page = await scrape(bozor)
    handlers = {
        dict(labels)["handler"]
        for (name, labels) in page
        if name == "bozor_updates_total" and dict(labels)["outcome"] == "ok"
    }
    assert any("start" in handler for handler in handlers), handlers
    assert any("help" in handler for handler in handlers), handlers
    assert all(handler.startswith("bozor.") for handler in handlers), handlers
    total = sum(v for (name, labels), v in page.items() if name == "bozor_updates_total")
    assert total == 2
    assert value(page, "bozor_telegram_calls_total", method="sendMessage", result="429") == 1
    assert value(page, "bozor_telegram_calls_total", method="sendMessage", result="ok") >= 2
    assert value(page, "bozor_telegram_call_duration_seconds_count", method="sendMessage") >= 3
    assert value(page, "bozor_job_runs_total", job="outbox", outcome="ok") >= 1


async def test_metrics_count_http_requests_by_route_template(bozor: Harness) -> None:
    async with httpx.AsyncClient(base_url=api_url(bozor)) as client:
        for code in ("aaaaaaaa", "bbbbbbbb"):  # two paths, one route
            await client.get(f"/r/{code}")
        await client.get("/healthz")
        await client.get("/no/such/page")
    page = await scrape(bozor)
    by_route = {
        (dict(labels)["route"], dict(labels)["status"]): v
        for (name, labels), v in page.items()
        if name == "bozor_http_requests_total"
    }
    assert by_route[("/healthz", "200")] == 1
    assert sum(v for (route, _), v in by_route.items() if route == "/r/{code}") == 2
    assert by_route[("unmatched", "404")] == 1
    assert not any("aaaaaaaa" in route for route, _ in by_route)


async def test_backlog_gauges_are_read_at_scrape_time(bozor: Harness) -> None:
    async with bozor.db() as session:
        for n in range(3):
            await events.publish(session=session, type="referral.created", data={"n": n})
        await session.commit()
    page = await scrape(bozor)
    # No subscription: the worker fans the events out to nobody and marks them dispatched.
    assert ("bozor_backlog", (("queue", "outbox"),)) in page
    assert ("bozor_backlog_due", (("queue", "webhook_deliveries"),)) in page

    async def dispatched() -> bool:
        return value(await scrape(bozor), "bozor_backlog", queue="events_undispatched") == 0

    await eventually(dispatched)


async def test_request_id_is_taken_or_made_and_returned(bozor: Harness) -> None:
    async with httpx.AsyncClient(base_url=api_url(bozor)) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "req-42.a"})
        made = await client.get("/healthz")
        unsafe = await client.get("/healthz", headers={"X-Request-ID": "two words"})
    assert given.headers["x-request-id"] == "req-42.a"
    assert len(made.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] not in ("two words", made.headers["x-request-id"])


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logs.handler(stream, "json")
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_json_logs_carry_the_request_and_update_ids(
    bozor: Harness, json_logs: io.StringIO
) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    update: dict[str, Any] = {
        "update_id": 777_001,
        "message": {
            "message_id": 777_001,
            "date": 1_790_000_000,
            "chat": {"id": member, "type": "private", "first_name": "Aziz"},
            "from": {"id": member, "is_bot": False, "first_name": "Aziz"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    url = f"{bozor.settings.webhook_url}{bozor.settings.webhook_path}"
    async with httpx.AsyncClient() as client:
        for attempt in ("first", "again"):
            response = await client.post(
                url,
                json=update,
                headers={
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                    "X-Request-ID": f"tg-{attempt}",
                },
            )
            assert response.status_code == 200
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    ignored = [line for line in lines if "ignored" in line["message"]]
    assert ignored, lines
    assert ignored[0]["update_id"] == 777_001
    assert ignored[0]["request_id"] == "tg-again"
    access = [line for line in lines if line["logger"] == "bozor.http"]
    assert {line.get("request_id") for line in access} >= {"tg-first", "tg-again"}


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_readyz_is_503_with_a_problem_while_the_database_is_unreachable(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    target = urlsplit(database_url.replace("+asyncpg", ""))
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        through = database_url.replace(
            f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}"
        )
        port = free_port()
        async with (
            start_bozor(emulator, through, db, http_port=port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            assert (await client.get("/readyz")).json() == {"status": "ready", "telegram": "ok"}
            await proxy.cut()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.headers["content-type"].startswith("application/problem+json")
            body = down.json()
            assert body["code"] == "service.not_ready"
            assert body["checks"]["database"].startswith(("unreachable", "no answer"))
            assert (await client.get("/healthz")).status_code == 200, "alive all the same"
            await proxy.start()

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, timeout=30)


@pytest.mark.redis
async def test_readyz_is_503_while_redis_is_unreachable(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> None:
    target = urlsplit(redis_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        port = free_port()
        through = f"redis://127.0.0.1:{proxy.port}{target.path}"
        async with (
            start_bozor(emulator, database_url, db, http_port=port, redis_url=through),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            assert (await client.get("/readyz")).status_code == 200
            await proxy.cut()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"] == {
                "database": "ok",
                "redis": down.json()["checks"]["redis"],
                "telegram": "ok",
            }
            assert down.json()["checks"]["redis"] != "ok"
            await proxy.start()
            await asyncio.sleep(0)

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, timeout=30)
