"""Retries, at the transport level: httpx.MockTransport plays the server (no Bozor here)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bozor.client import (
    AsyncBozorClient,
    BozorClient,
    BozorClientError,
    BozorConnectionError,
    BozorServerError,
    ClickRead,
    RetryPolicy,
    StatsRead,
)
from bozor.client.retry import parse_retry_after
from bozor.testing import free_port

BASE = "https://bozor.test/prefix"
KEY = "bzr_test_key"
FAST = RetryPolicy(backoff=0.0)
STATS = StatsRead(
    user_id="alice", clicks=3, unique_clicks=2, bot_clicks=0, invited=1, confirmed=1,
    pending=0, signup_rate=0.5, confirmation_rate=1.0, rank=1, rewards_earned=10,
    rewards_claimed=0,
).model_dump(mode="json")  # fmt: skip
REFERRAL = {
    "id": 7, "referrer_id": "alice", "referred_id": "bob", "status": "confirmed",
    "reason": None, "source": "api", "campaign": None,
    "created_at": "2026-01-01T00:00:00Z", "confirmed_at": "2026-01-01T00:00:00Z",
}  # fmt: skip
CLICK = {"click_id": 41, "counted": True}


def problem(status: int, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "Busy", "status": status, "detail": "Later."}
    return httpx.Response(status, json=body, headers=headers)


class Server:
    """Answers in the order given (an exception is raised instead); records the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Any:
    """call(server, "method", **kwargs): through a client of the kind under test."""

    async def send(server: Server, name: str, retry: RetryPolicy = FAST, **kwargs: Any) -> Any:
        transport = httpx.MockTransport(server)
        if request.param == "sync":
            with httpx.Client(transport=transport) as http:
                return getattr(BozorClient(BASE, KEY, http_client=http, retry=retry), name)(
                    **kwargs
                )
        async with httpx.AsyncClient(transport=transport) as http:
            client = AsyncBozorClient(BASE, KEY, http_client=http, retry=retry)
            return await getattr(client, name)(**kwargs)

    return send


async def test_gets_are_retried_on_gateway_errors(call: Any) -> None:
    server = Server(problem(503), problem(502), problem(504), httpx.Response(200, json=STATS))
    stats = await call(server, "referral_stats", user_id="tg:42")
    assert stats == StatsRead.model_validate(STATS)
    assert len(server.requests) == 4
    request = server.requests[0]
    assert str(request.url) == "https://bozor.test/prefix/api/v1/referral-stats/tg:42"
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["User-Agent"].startswith("bozor-client/")


async def test_retries_are_bounded(call: Any) -> None:
    server = Server(*[problem(503)] * 4)
    with pytest.raises(BozorServerError) as raised:
        await call(server, "rewards", user_id="alice")
    assert raised.value.status == 503 and raised.value.detail == "Later."
    assert len(server.requests) == 4, "the first send and three retries"


async def test_retry_after_is_honoured(call: Any) -> None:
    server = Server(problem(429, **{"Retry-After": "0.3"}), httpx.Response(200, json=STATS))
    started = time.monotonic()
    await call(server, "referral_stats", user_id="alice")
    assert time.monotonic() - started >= 0.3 and len(server.requests) == 2


async def test_a_long_retry_after_is_left_to_the_caller(call: Any) -> None:
    server = Server(problem(429, **{"Retry-After": "120"}))
    with pytest.raises(BozorClientError) as raised:
        await call(server, "referral_stats", user_id="alice")
    assert (raised.value.status, raised.value.retry_after) == (429, 120.0)
    assert len(server.requests) == 1


async def test_posts_without_an_idempotency_key_are_not_retried(call: Any) -> None:
    for failure in (problem(503), problem(429, **{"Retry-After": "0"}), httpx.ReadTimeout("slow")):
        server = Server(failure)
        with pytest.raises((BozorServerError, BozorClientError, BozorConnectionError)):
            await call(server, "track_click", code="abc", ip="10.0.0.1")
        assert len(server.requests) == 1, failure


async def test_a_request_that_never_left_is_sent_again(call: Any) -> None:
    server = Server(httpx.ConnectError("refused"), httpx.Response(201, json=CLICK))
    click = await call(server, "track_click", code="abc", ip="10.0.0.1", utm={"utm_source": "x"})
    assert click == ClickRead(click_id=41, counted=True)
    assert len(server.requests) == 2
    body = server.requests[1].read()
    assert b'"utm":{"utm_source":"x"}' in body and b'"ip":"10.0.0.1"' in body


async def test_retries_reuse_the_idempotency_key(call: Any) -> None:
    server = Server(problem(503), httpx.ReadTimeout("slow"), httpx.Response(201, json=REFERRAL))
    made = await call(server, "verify_referral", code="abc", user_id="bob")
    assert made.id == 7
    keys = {request.headers["Idempotency-Key"] for request in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1

    claim = {"reward": {"id": 3, "kind": "referral", "title": "Referral", "amount": 10,
             "status": "claimed", "created_at": "2026-01-01T00:00:00Z",
             "claimed_at": "2026-01-01T00:00:00Z"}, "balance": 10}  # fmt: skip
    server = Server(problem(502), httpx.Response(200, json=claim))
    await call(server, "claim_reward", user_id="alice", reward_id=3, idempotency_key="claim-3")
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["claim-3", "claim-3"]


async def test_other_errors_are_not_retried(call: Any) -> None:
    for status in (400, 401, 404, 409, 422, 500):
        server = Server(problem(status))
        with pytest.raises((BozorClientError, BozorServerError)):
            await call(server, "referral_stats", user_id="alice")
        assert len(server.requests) == 1


async def test_an_answer_that_is_not_a_problem_still_raises(call: Any) -> None:
    server = Server(httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(BozorServerError) as raised:
        await call(server, "track_click", code="abc", ip="10.0.0.1")
    error = raised.value
    assert (error.status, error.title, error.code) == (502, "Bad Gateway", None)
    assert error.detail == "<html>Bad gateway</html>" and not error.is_client_error


NOWHERE = RetryPolicy(retries=2, backoff=0.0)


def test_nothing_listening_sync() -> None:
    sent: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [sent.append]}) as http:
        client = BozorClient(
            f"http://127.0.0.1:{free_port()}", KEY, http_client=http, retry=NOWHERE
        )
        with pytest.raises(BozorConnectionError) as raised:
            client.referral_stats(user_id="alice")
    assert isinstance(raised.value.__cause__, httpx.ConnectError) and len(sent) == 3


async def test_nothing_listening_async() -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        url = f"http://127.0.0.1:{free_port()}"
        client = AsyncBozorClient(url, KEY, http_client=http, retry=NOWHERE)
        with pytest.raises(BozorConnectionError) as raised:
            await client.referral_stats(user_id="alice")
    assert isinstance(raised.value.__cause__, httpx.ConnectError) and len(sent) == 3


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    for bad in (None, "", "soon", "-3", "inf"):
        assert parse_retry_after(bad) is None


def test_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0)
    for _ in range(50):
        assert 0.5 <= policy.backoff_for(0) <= 1.0
        assert 1.0 <= policy.backoff_for(1) <= 2.0
        assert 2.0 <= policy.backoff_for(5) <= 4.0
