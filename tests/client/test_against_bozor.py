"""Both clients drive the real app over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httpx
import pydantic
import pytest

from bozor.client import (
    AsyncBozorClient,
    BozorApiError,
    BozorClient,
    BozorClientError,
    ClaimRead,
    LinkRead,
    ReferralStatus,
    RewardStatus,
    StatsRead,
    TokenRead,
)
from bozor.client import core as client_core
from bozor.referrals.models import Click
from bozor.testing import Harness

Connect = Callable[..., Any]  # the `connect` fixture: a client of the kind under test
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


async def test_the_whole_flow(bozor: Harness, connect: Connect, key: str) -> None:
    client = connect(key)
    link = await client.generate_link(user_id="alice")
    assert isinstance(link, LinkRead) and link.telegram_link.endswith(f"?start={link.code}")
    assert (await client.generate_link(user_id="alice")).code == link.code

    click = await client.track_click(
        code=link.code,
        ip="203.0.113.7",
        user_agent=BROWSER,
        referer="https://instagram.com/p/1",
        utm={"utm_source": "instagram"},
    )
    assert click.counted
    async with bozor.db() as session:
        stored = await session.get_one(Click, click.click_id)
    assert stored.utm == {"utm_source": "instagram"} and stored.source == "api"

    made = await client.verify_referral(code=link.code, user_id="bob", click_id=click.click_id)
    assert (made.referrer_id, made.referred_id) == ("alice", "bob")
    assert made.status is ReferralStatus.CONFIRMED and made.confirmed_at is not None

    stats = await client.referral_stats(user_id="alice")
    assert isinstance(stats, StatsRead)
    assert (stats.clicks, stats.unique_clicks, stats.invited, stats.confirmed) == (1, 1, 1, 1)
    assert (stats.signup_rate, stats.rewards_earned, stats.rewards_claimed) == (1.0, 10, 0)

    earned = await client.rewards(user_id="alice")
    [reward] = earned.rewards
    assert (reward.kind, reward.amount, reward.status) == ("referral", 10, RewardStatus.GRANTED)
    assert earned.balance == 0

    claimed = await client.claim_reward(user_id="alice", reward_id=reward.id)
    assert isinstance(claimed, ClaimRead) and claimed.balance == 10
    assert claimed.reward.status is RewardStatus.CLAIMED
    assert (await client.referral_stats(user_id="alice")).rewards_claimed == 10
    [welcome] = (await client.rewards(user_id="bob")).rewards
    assert welcome.kind == "welcome"


async def test_errors_carry_the_problem_details(
    connect: Connect, key: str, make_key: Callable[..., Awaitable[str]]
) -> None:
    client = connect(key)
    code = (await client.generate_link(user_id="alice")).code

    async def failure(name: str, **kwargs: Any) -> BozorApiError:
        with pytest.raises(BozorClientError) as raised:
            await getattr(client, name)(**kwargs)
        assert raised.value.is_client_error and raised.value.retry_after is None
        return raised.value

    unknown = await failure("verify_referral", code="ZZZZZZZZZZ", user_id="bob")
    assert (unknown.status, unknown.code) == (422, "referral.unknown")
    assert unknown.title == HTTPStatus(422).phrase and unknown.detail
    assert unknown.problem["status"] == 422

    await client.verify_referral(code=code, user_id="bob")
    again = await failure("verify_referral", code=code, user_id="bob")
    assert (again.status, again.code, again.title) == (409, "referral.already", "Conflict")
    itself = await failure("verify_referral", code=code, user_id="alice")
    assert (itself.status, itself.code) == (403, "referral.self")

    [reward] = (await client.rewards(user_id="alice")).rewards
    await client.claim_reward(user_id="alice", reward_id=reward.id)
    twice = await failure("claim_reward", user_id="alice", reward_id=reward.id)
    assert (twice.status, twice.code) == (409, "reward.already_claimed")
    nobody = await failure("referral_stats", user_id="nobody")
    assert (nobody.status, nobody.code) == (404, "error.not_found")

    forged = await failure_of(connect(key[:-4] + "AAAA"), "referral_stats", user_id="alice")
    assert (forged.status, forged.code) == (401, None) and "not valid" in str(forged.detail)
    admin = connect(await make_key("admin"))
    lacking = await failure_of(admin, "generate_link", user_id="alice")
    assert lacking.status == 403 and "referrals" in str(lacking.detail)

    sent: list[httpx.Request] = []
    with pytest.raises(pydantic.ValidationError):  # checked before anything is sent
        await connect(key, hook=sent.append).verify_referral(code="", user_id="has space")
    assert sent == []


async def failure_of(client: Any, name: str, **kwargs: Any) -> BozorApiError:
    with pytest.raises(BozorApiError) as raised:
        await getattr(client, name)(**kwargs)
    return raised.value


async def test_token_mode(connect: Connect, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[httpx.Request] = []
    client = connect(key, hook=sent.append, use_token=True)
    code = (await client.generate_link(user_id="alice")).code
    await client.verify_referral(code=code, user_id="bob")
    await client.referral_stats(user_id="alice")
    token_call, *calls = sent
    assert token_call.url.path == "/api/v1/token" and token_call.headers["X-API-Key"] == key
    assert len(calls) == 3, "one token serves many calls"
    for request in calls:
        assert "X-API-Key" not in request.headers
        assert request.headers["Authorization"].startswith("Bearer ey")

    # shortly before the token expires (15 minutes), the client fetches the next one
    real = client_core.monotonic
    monkeypatch.setattr(client_core, "monotonic", lambda: real() + 14 * 60 + 1)
    sent.clear()
    await client.rewards(user_id="alice")
    assert [r.url.path for r in sent] == ["/api/v1/token", "/api/v1/rewards/alice"]

    # a token the server refuses (a rotated API_SECRET, say) is replaced once, then retried
    underlying: AsyncBozorClient | BozorClient = getattr(client, "client", None) or client
    tokens = underlying._config.tokens
    assert tokens is not None, "the client was made with use_token=True"
    tokens.store(TokenRead(access_token="forged", expires_in=900, scope="referrals"))
    sent.clear()
    assert (await client.referral_stats(user_id="alice")).invited == 1
    assert [r.url.path for r in sent] == [
        "/api/v1/referral-stats/alice",
        "/api/v1/token",
        "/api/v1/referral-stats/alice",
    ]
    assert sent[0].headers["Authorization"] == "Bearer forged"


async def test_idempotency_keys_are_sent(connect: Connect, key: str) -> None:
    sent: list[httpx.Request] = []
    client = connect(key, hook=sent.append)
    code = (await client.generate_link(user_id="alice")).code
    await client.verify_referral(code=code, user_id="bob", idempotency_key="signup-bob")
    await client.verify_referral(code=code, user_id="carol")
    [reward, *_] = (await client.rewards(user_id="alice")).rewards
    await client.claim_reward(user_id="alice", reward_id=reward.id)
    link, bob, carol, rewards, claim = sent
    assert "Idempotency-Key" not in link.headers and "Idempotency-Key" not in rewards.headers
    assert bob.headers["Idempotency-Key"] == "signup-bob"
    generated = [carol.headers["Idempotency-Key"], claim.headers["Idempotency-Key"]]
    assert [uuid.UUID(value).version for value in generated] == [4, 4]
    assert generated[0] != generated[1], "one key per logical call"


async def test_campaign_links_and_replayed_verifications(
    bozor: Harness, connect: Connect, make_key: Callable[..., Awaitable[str]]
) -> None:
    admin = await make_key("admin")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as api:
        made = await api.post(
            "/api/v1/admin/campaigns",
            json={"slug": "spring", "name": "Spring"},
            headers={"X-API-Key": admin},
        )
        assert made.status_code == 201
    client = connect(await make_key())
    plain = await client.generate_link(user_id="alice")
    spring = await client.generate_link(user_id="alice", campaign="spring")
    assert spring.campaign == "spring" and spring.code != plain.code
    first = await client.verify_referral(code=spring.code, user_id="bob", idempotency_key="s-1")
    again = await client.verify_referral(code=spring.code, user_id="bob", idempotency_key="s-1")
    assert first == again and first.campaign == "spring"
    with pytest.raises(BozorClientError) as refused:
        await client.generate_link(user_id="carol", campaign="autumn")
    assert refused.value.status == 404 and refused.value.code == "campaign.not_found"
