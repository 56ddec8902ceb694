"""The API's safety rules: Idempotency-Key, rate limits, velocity limits, atomic cycle
checks, and the operator's own validation, reward and notification hooks."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.factories import count, referral_code

from bozor.emulator import Emulator
from bozor.referrals.models import Referral, Reward
from bozor.referrals.settings import ReferralSettings
from bozor.runtime import serve
from bozor.settings import SettingsError
from bozor.testing import Harness, api_url, bozor_settings, free_port, new_api_key, start_bozor


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("referrals",)


async def test_a_retried_verify_gets_the_first_answer(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    body = {"code": await referral_code(api, "alice"), "user_id": "bob"}
    headers = {"Idempotency-Key": "signup-bob-1"}
    first = await api.post("/api/v1/verify-referral", json=body, headers=headers)
    again = await api.post("/api/v1/verify-referral", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(bozor.db, Referral) == 1
    # Without the key, the same request is a second attempt, refused by the rules.
    plain = await api.post("/api/v1/verify-referral", json=body)
    assert plain.status_code == 409 and plain.json()["code"] == "referral.already"


async def test_a_key_reused_for_another_request_is_refused(api: httpx.AsyncClient) -> None:
    code = await referral_code(api, "alice")
    headers = {"Idempotency-Key": "k-1"}
    first = await api.post(
        "/api/v1/verify-referral", json={"code": code, "user_id": "bob"}, headers=headers
    )
    other = await api.post(
        "/api/v1/verify-referral", json={"code": code, "user_id": "carol"}, headers=headers
    )
    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["code"] == "idempotency.mismatch"


async def test_racing_retries_with_one_key_do_the_work_once(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    body = {"code": await referral_code(api, "alice"), "user_id": "bob"}
    answers = await asyncio.gather(
        *(
            api.post("/api/v1/verify-referral", json=body, headers={"Idempotency-Key": "race"})
            for _ in range(5)
        )
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await count(bozor.db, Referral) == 1
    assert await count(bozor.db, Reward) == 2  # per referral and welcome, once each


async def test_a_retried_claim_gets_the_first_answer(api: httpx.AsyncClient) -> None:
    code = await referral_code(api, "alice")
    await api.post("/api/v1/verify-referral", json={"code": code, "user_id": "bob"})
    [reward] = (await api.get("/api/v1/rewards/bob")).json()["rewards"]
    body = {"user_id": "bob", "reward_id": reward["id"]}
    answers = await asyncio.gather(
        *(
            api.post("/api/v1/claim-reward", json=body, headers={"Idempotency-Key": "claim"})
            for _ in range(4)
        )
    )
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["balance"] for a in answers} == {reward["amount"]}
    assert (await api.get("/api/v1/rewards/bob")).json()["balance"] == reward["amount"]


async def test_rate_limits_per_key_and_per_ip(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    limits: dict[str, Any] = {"api_rate_per_key": 3, "api_rate_per_ip": 5}
    async with start_bozor(emulator, database_url, db, http_port=port, **limits) as harness:
        key = await new_api_key(harness)
        async with httpx.AsyncClient(base_url=api_url(harness)) as client:
            by_key = [
                await client.get("/api/v1/referral-stats/x", headers={"X-API-Key": key})
                for _ in range(4)
            ]
            assert [r.status_code for r in by_key] == [404, 404, 404, 429]
            refused = by_key[-1]
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) >= 1
            by_ip = [await client.get("/r/nonexistent1") for _ in range(2)]
            assert [r.status_code for r in by_ip] == [404, 429]  # 4 + 1 of 5, then over
            assert (await client.get("/healthz")).status_code == 200  # not limited


@pytest.mark.redis
async def test_instances_share_rate_limits_through_redis(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    request: pytest.FixtureRequest,
) -> None:
    shared: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": f"t{abs(hash(request.node.nodeid))}",
        "api_rate_per_key": 4,
        "api_rate_per_ip": 0,
    }
    one, two = free_port(), free_port()
    async with (
        start_bozor(emulator, database_url, db, http_port=one, **shared) as first,
        start_bozor(emulator, database_url, db, http_port=two, roles=frozenset({"api"}), **shared),
    ):
        key = await new_api_key(first)
        headers = {"X-API-Key": key}
        async with httpx.AsyncClient() as client:
            answers = [
                await client.get(
                    f"http://127.0.0.1:{port}/api/v1/referral-stats/x", headers=headers
                )
                for port in (one, two, one, two, one, two)
            ]
    codes = [a.status_code for a in answers]
    assert codes[:4] == [404] * 4 and 429 in codes[4:]


async def test_many_sign_ups_from_one_visitor_are_held_for_review(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    code = await referral_code(api, "alice")
    visit = {"code": code, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0 Firefox/130"}
    statuses = []
    for i in range(4):
        click = (await api.post("/api/v1/track-click", json=visit)).json()["click_id"]
        made = await api.post(
            "/api/v1/verify-referral", json={"code": code, "user_id": f"u{i}", "click_id": click}
        )
        statuses.append((made.json()["status"], made.json()["reason"]))
    # The default allows 3 per visitor; the 4th from the same browser waits for an admin.
    assert [s for s, _ in statuses] == ["confirmed", "confirmed", "confirmed", "review"]
    assert "visitor" in (statuses[-1][1] or "")
    stats = (await api.get("/api/v1/referral-stats/alice")).json()
    assert (stats["confirmed"], stats["pending"]) == (3, 1)
    rewards = (await api.get("/api/v1/rewards/u3")).json()["rewards"]
    assert rewards == [], "nothing is granted while held"


async def test_the_velocity_cap_holds_under_concurrent_sign_ups(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    # The default cap: 50 sign-ups through one referrer per window; the rest wait for review.
    assert ReferralSettings.of(bozor.settings).velocity_burst == 50
    code = await referral_code(api, "alice")
    other = await referral_code(api, "zoe")
    answers = await asyncio.gather(
        *(
            api.post(
                "/api/v1/verify-referral", json={"code": code, "user_id": f"u{i}"}, timeout=120
            )
            for i in range(200)
        ),
        # Another referrer's sign-ups are neither counted with alice's nor kept waiting by them.
        *(
            api.post(
                "/api/v1/verify-referral", json={"code": other, "user_id": f"z{i}"}, timeout=120
            )
            for i in range(10)
        ),
    )
    assert {a.status_code for a in answers} == {201}
    statuses = [a.json()["status"] for a in answers[:200]]
    assert (statuses.count("confirmed"), statuses.count("review")) == (50, 150)
    assert {a.json()["status"] for a in answers[200:]} == {"confirmed"}
    stats = (await api.get("/api/v1/referral-stats/alice")).json()
    assert (stats["confirmed"], stats["pending"]) == (50, 150)


async def test_existing_users_joining_each_other_at_once_make_no_cycle(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    for _ in range(5):
        a, b = f"a{_}", f"b{_}"
        code_a, code_b = await referral_code(api, a), await referral_code(api, b)
        answers = await asyncio.gather(
            api.post("/api/v1/verify-referral", json={"code": code_a, "user_id": b}),
            api.post("/api/v1/verify-referral", json={"code": code_b, "user_id": a}),
        )
        assert sorted(r.status_code for r in answers) == [201, 403]
        refused = next(r for r in answers if r.status_code == 403)
        assert refused.json()["code"] == "referral.cycle"


HOOKS = """
from bozor.referrals.hooks import ACCEPT, Decision, Grant, Verdict

NOTICES = []


async def no_test_accounts(session, attempt, settings):
    if attempt.referred.external_id and attempt.referred.external_id.startswith("test-"):
        return Decision(Verdict.REJECT, "test accounts do not count")
    return ACCEPT


async def flat_hundred(session, referral, policy):
    return [Grant(referral.referrer_id, f"flat:{referral.id}", "flat", "Flat bonus", 100,
                  referral.id)]


async def remember(session, notice):
    NOTICES.append((notice.event, notice.user.api_id))
"""


@pytest.fixture
def hooks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"club_rules_{abs(hash(tmp_path))}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(HOOKS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


async def test_operators_plug_in_their_own_hooks(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    hooks_module: str,
) -> None:
    hooks: dict[str, Any] = {
        "referral_validator": f"{hooks_module}:no_test_accounts",
        "reward_calculator": f"{hooks_module}:flat_hundred",
        "referral_notifier": f"{hooks_module}:remember",
    }
    port = free_port()
    async with start_bozor(emulator, database_url, db, http_port=port, **hooks) as harness:
        key = await new_api_key(harness)
        async with httpx.AsyncClient(base_url=api_url(harness), headers={"X-API-Key": key}) as api:
            code = await referral_code(api, "alice")
            refused = await api.post(
                "/api/v1/verify-referral", json={"code": code, "user_id": "test-1"}
            )
            assert refused.status_code == 422
            assert refused.json()["code"] == "referral.refused"
            assert "test accounts do not count" in refused.json()["detail"]
            made = await api.post("/api/v1/verify-referral", json={"code": code, "user_id": "bob"})
            assert made.status_code == 201
            rewards = (await api.get("/api/v1/rewards/alice")).json()["rewards"]
            assert [(r["kind"], r["amount"]) for r in rewards] == [("flat", 100)]
            assert (await api.get("/api/v1/rewards/bob")).json()["rewards"] == []
    notices = sys.modules[hooks_module].NOTICES
    assert ("referral.created", "alice") in notices
    assert await count(db, Referral) == 1, "the refused sign-up left nothing behind"


async def test_a_hook_that_cannot_be_loaded_stops_start_up(
    emulator: Emulator, database_url: str
) -> None:
    settings = bozor_settings(emulator, database_url, referral_validator="nowhere.rules:check")
    with pytest.raises(SettingsError) as caught:
        await serve(settings, stop=asyncio.Event())
    assert str(caught.value).startswith("REFERRAL_VALIDATOR: cannot load 'nowhere.rules:check'")
