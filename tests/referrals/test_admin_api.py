"""The referral API's admin routes over HTTP, against the running app and a real database:
the reward program, the review queue, listing and CSV export, campaigns."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import Harness, free_port, new_api_key
from bozor.users.models import User

ADMIN = "/api/v1/admin"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
PREVIEW = "TelegramBot (like TwitterBot)"
BURST = "velocity: burst of sign-ups"
DEFAULT_PROGRAM = {
    "per_referral": 10,
    "welcome": 10,
    "tiers": [
        {"name": "Bronze", "threshold": 5, "amount": 50},
        {"name": "Silver", "threshold": 10, "amount": 150},
        {"name": "Gold", "threshold": 20, "amount": 500},
    ],
}
CSV_HEADER = [
    "id",
    "referrer_id",
    "referred_id",
    "status",
    "reason",
    "source",
    "campaign",
    "created_at",
    "confirmed_at",
]


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # The API is called over a real socket; a referrer's 3rd sign-up within 10 minutes is
    # held for review.
    return {"http_port": free_port(), "velocity_burst": 2}


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.fixture
async def admin(bozor: Harness, api: httpx.AsyncClient) -> AsyncIterator[dict[str, str]]:
    headers = auth(await new_api_key(bozor, "admin"))
    yield headers
    # An instance keeps the program for a few seconds per database URL, and the PostgreSQL
    # tests of a worker share one URL: leave the settings' program behind.
    await api.delete(f"{ADMIN}/reward-program", headers=headers)


@pytest.fixture
async def integrator(bozor: Harness) -> dict[str, str]:
    return auth(await new_api_key(bozor, "referrals"))


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    if code is not None:
        assert response.json()["code"] == code


async def link(
    api: httpx.AsyncClient, integrator: dict[str, str], user_id: str, campaign: str | None = None
) -> str:
    body = {"user_id": user_id, **({"campaign": campaign} if campaign else {})}
    response = await api.post("/api/v1/generate-link", json=body, headers=integrator)
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


async def refer(
    api: httpx.AsyncClient, integrator: dict[str, str], code: str, user_id: str
) -> dict[str, Any]:
    body = {"code": code, "user_id": user_id}
    response = await api.post("/api/v1/verify-referral", json=body, headers=integrator)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def rewards_of(
    api: httpx.AsyncClient, integrator: dict[str, str], user_id: str
) -> list[tuple[str, str, int]]:
    response = await api.get(f"/api/v1/rewards/{user_id}", headers=integrator)
    assert response.status_code == 200, response.text
    return sorted((r["kind"], r["title"], r["amount"]) for r in response.json()["rewards"])


async def stats_of(
    api: httpx.AsyncClient, integrator: dict[str, str], user_id: str
) -> tuple[int, int, int]:
    response = await api.get(f"/api/v1/referral-stats/{user_id}", headers=integrator)
    assert response.status_code == 200, response.text
    stats = response.json()
    return stats["invited"], stats["confirmed"], stats["pending"]


async def listing(
    api: httpx.AsyncClient, admin: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every matching referral, from one page."""
    response = await api.get(f"{ADMIN}/referrals", params={"limit": 500, **params}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["items"])


def referred(items: list[dict[str, Any]]) -> list[str]:
    return [item["referred_id"] for item in items]


def flat(pages: list[list[int]]) -> list[int]:
    return [item for page in pages for item in page]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- scopes -------------------------------------------------------------------------------

# (method, route, body, status for an admin), in an order in which each one succeeds
ROUTES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/reward-program", None, 200),
    ("PUT", "/reward-program", DEFAULT_PROGRAM, 200),
    ("DELETE", "/reward-program", None, 200),
    ("GET", "/referrals", None, 200),
    ("GET", "/referrals.csv", None, 200),
    ("POST", "/referrals/{referral_id}/approve", None, 404),
    ("POST", "/referrals/{referral_id}/reject", {"reason": "spam"}, 404),
    ("POST", "/campaigns", {"slug": "spring", "name": "Spring"}, 201),
    ("GET", "/campaigns", None, 200),
    ("GET", "/campaigns/{slug}", None, 200),
    ("PATCH", "/campaigns/{slug}", {"name": "Spring 2027"}, 200),
]


async def test_every_admin_route_needs_the_admin_scope(
    bozor: Harness, api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    spec = (await api.get("/openapi.json")).json()
    documented = {
        (method.upper(), path.removeprefix(ADMIN))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "admin: referrals" in operation["tags"]
    }
    assert documented == {(method, route) for method, route, _, _ in ROUTES}, "a new route?"

    for method, route, body, status in ROUTES:
        url = ADMIN + route.format(referral_id=1, slug="spring")
        missing = await api.request(method, url, json=body)
        assert_problem(missing, 401)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert_problem(await api.request(method, url, json=body, headers=auth("bzr_nope")), 401)
        refused = await api.request(method, url, json=body, headers=integrator)
        assert_problem(refused, 403)
        assert "admin" in refused.json()["detail"]
        allowed = await api.request(method, url, json=body, headers=admin)
        assert allowed.status_code == status, (method, url, allowed.text)

    both = auth(await new_api_key(bozor, "admin", "referrals"))
    assert (await api.get(f"{ADMIN}/campaigns", headers=both)).status_code == 200
    for headers, status in ((admin, 200), (integrator, 403)):
        token = (await api.post("/api/v1/token", headers=headers)).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await api.get(f"{ADMIN}/referrals", headers=bearer)).status_code == status


# --- reward program -----------------------------------------------------------------------


async def test_reward_program_is_changed_for_later_referrals_and_reset(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    program_url = f"{ADMIN}/reward-program"
    shown = await api.get(program_url, headers=admin)
    assert shown.status_code == 200 and shown.json() == DEFAULT_PROGRAM

    await refer(api, integrator, await link(api, integrator, "carol"), "dave")  # before

    program: dict[str, Any] = {
        "per_referral": 25,
        "welcome": 5,
        "tiers": [
            {"name": "Gold", "threshold": 3, "amount": 300},
            {"name": "Starter", "threshold": 1, "amount": 7},
        ],
    }
    expected = {**program, "tiers": program["tiers"][::-1]}  # by threshold
    changed = await api.put(program_url, json=program, headers=admin)
    assert changed.status_code == 200 and changed.json() == expected
    assert (await api.get(program_url, headers=admin)).json() == expected

    alice = await link(api, integrator, "alice")
    await refer(api, integrator, alice, "bob")
    assert await rewards_of(api, integrator, "alice") == [
        ("referral", "Referral", 25),
        ("tier", "Starter", 7),
    ]
    assert await rewards_of(api, integrator, "bob") == [("welcome", "Welcome bonus", 5)]
    # rewards granted before the change stay as they were
    assert await rewards_of(api, integrator, "carol") == [("referral", "Referral", 10)]
    assert await rewards_of(api, integrator, "dave") == [("welcome", "Welcome bonus", 10)]

    tier = {"name": "Gold", "threshold": 1, "amount": 1}
    duplicate = await api.put(
        program_url, json={**program, "tiers": [tier, {**tier, "threshold": 2}]}, headers=admin
    )
    assert_problem(duplicate, 422, "request.invalid")
    assert "tier names must differ" in str(duplicate.json()["errors"])
    for bad in (
        {**program, "per_referral": -1},
        {**program, "welcome": 1_000_000_001},
        {**program, "tiers": [{**tier, "threshold": 0}]},
        {**program, "tiers": [{**tier, "name": ""}]},
        {**program, "tiers": [{**tier, "name": "x" * 31}]},
        {**program, "tiers": [{**tier, "name": f"T{n}"} for n in range(51)]},
        {"per_referral": 1, "welcome": 1},
    ):
        assert_problem(await api.put(program_url, json=bad, headers=admin), 422, "request.invalid")
    assert (await api.get(program_url, headers=admin)).json() == expected, "nothing changed"

    nothing = {"per_referral": 0, "welcome": 0, "tiers": []}
    assert (await api.put(program_url, json=nothing, headers=admin)).json() == nothing
    await refer(api, integrator, await link(api, integrator, "erin"), "fay")
    assert await rewards_of(api, integrator, "erin") == []
    assert await rewards_of(api, integrator, "fay") == []

    reset = await api.delete(program_url, headers=admin)
    assert reset.status_code == 200 and reset.json() == DEFAULT_PROGRAM
    assert (await api.get(program_url, headers=admin)).json() == DEFAULT_PROGRAM
    await refer(api, integrator, alice, "gus")
    assert await rewards_of(api, integrator, "alice") == [
        ("referral", "Referral", 10),
        ("referral", "Referral", 25),
        ("tier", "Starter", 7),
    ]
    assert await rewards_of(api, integrator, "gus") == [("welcome", "Welcome bonus", 10)]
    again = await api.delete(program_url, headers=admin)
    assert again.status_code == 200 and again.json() == DEFAULT_PROGRAM


# --- review -------------------------------------------------------------------------------


async def held(
    api: httpx.AsyncClient, integrator: dict[str, str], referrer: str, count: int
) -> list[dict[str, Any]]:
    """`count` referrals through `referrer` held for review (after two confirmed ones)."""
    code = await link(api, integrator, referrer)
    made = [await refer(api, integrator, code, f"{referrer}-{n}") for n in range(count + 2)]
    assert [m["status"] for m in made] == ["confirmed"] * 2 + ["review"] * count
    assert {m["reason"] for m in made[2:]} <= {BURST}
    return made[2:]


async def test_review_queue_approve_and_reject(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    first, second, third = await held(api, integrator, "alice", 3)
    queue = await listing(api, admin, status="review")
    assert [item["id"] for item in queue] == [third["id"], second["id"], first["id"]]
    assert all(
        item["reason"] == BURST and item["confirmed_at"] is None and item["referrer_id"] == "alice"
        for item in queue
    )
    assert await stats_of(api, integrator, "alice") == (5, 2, 3)
    assert await rewards_of(api, integrator, first["referred_id"]) == [], "nothing before review"

    approved = await api.post(f"{ADMIN}/referrals/{first['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["id"], body["status"]) == (first["id"], "confirmed")
    assert body["referred_id"] == "alice-2"
    assert body["confirmed_at"] is not None
    assert await rewards_of(api, integrator, "alice") == [("referral", "Referral", 10)] * 3
    assert await rewards_of(api, integrator, "alice-2") == [("welcome", "Welcome bonus", 10)]
    assert await stats_of(api, integrator, "alice") == (5, 3, 2)

    reason = 'Same device as the referrer, "twice"'
    rejected = await api.post(
        f"{ADMIN}/referrals/{second['id']}/reject", json={"reason": reason}, headers=admin
    )
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert (body["id"], body["status"], body["reason"]) == (second["id"], "rejected", reason)
    assert body["confirmed_at"] is None
    assert await rewards_of(api, integrator, "alice-3") == []
    assert len(await rewards_of(api, integrator, "alice")) == 3, "nobody is rewarded for it"
    assert await stats_of(api, integrator, "alice") == (5, 3, 1)
    assert referred(await listing(api, admin, status="rejected")) == ["alice-3"]

    decided = (first["id"], second["id"], (await listing(api, admin))[-1]["id"])  # + alice-0
    for referral_id in decided:
        for action, body in (("approve", None), ("reject", {"reason": "late"})):
            twice = await api.post(
                f"{ADMIN}/referrals/{referral_id}/{action}", json=body, headers=admin
            )
            assert_problem(twice, 409, "referral.already_decided")
    assert (await listing(api, admin, status="rejected"))[0]["reason"] == reason, "unchanged"

    for action, body in (("approve", None), ("reject", {"reason": "spam"})):
        assert_problem(
            await api.post(f"{ADMIN}/referrals/999999/{action}", json=body, headers=admin),
            404,
            "referral.not_found",
        )
        for bad_id in ("0", "-1", "abc", str(2**63)):
            response = await api.post(
                f"{ADMIN}/referrals/{bad_id}/{action}", json=body, headers=admin
            )
            assert_problem(response, 422, "request.invalid")

    reject_third = f"{ADMIN}/referrals/{third['id']}/reject"
    for bad in ({}, {"reason": ""}, {"reason": "x" * 201}, {"reason": None}):
        assert_problem(await api.post(reject_third, json=bad, headers=admin), 422)
    assert_problem(await api.post(reject_third, headers=admin), 422, "request.invalid")
    assert [item["id"] for item in await listing(api, admin, status="review")] == [third["id"]]


async def test_simultaneous_decisions_on_one_referral_one_wins(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    waiting = await held(api, integrator, "alice", 4)

    async def decide(referral_id: int, action: str) -> httpx.Response:
        body = {"reason": "duplicate account"} if action == "reject" else None
        return await api.post(f"{ADMIN}/referrals/{referral_id}/{action}", json=body, headers=admin)

    pairs = (("approve", "reject"), ("reject", "approve"), ("approve", "approve"))
    for item, actions in zip(waiting, pairs, strict=False):
        answers = await asyncio.gather(*(decide(item["id"], action) for action in actions))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        [winner] = [a.json() for a in answers if a.status_code == 200]
        [loser] = [a for a in answers if a.status_code == 409]
        assert_problem(loser, 409, "referral.already_decided")
        [stored] = [i for i in await listing(api, admin) if i["id"] == item["id"]]
        assert stored["status"] == winner["status"]
        welcome = [("welcome", "Welcome bonus", 10)] if winner["status"] == "confirmed" else []
        assert await rewards_of(api, integrator, item["referred_id"]) == welcome

    confirmed = await listing(api, admin, referrer_id="alice", status="confirmed")
    referral_rewards = [r for r in await rewards_of(api, integrator, "alice") if r[0] != "tier"]
    assert referral_rewards == [("referral", "Referral", 10)] * len(confirmed), "each once"
    assert referred(await listing(api, admin, status="review")) == [waiting[3]["referred_id"]]


# --- listing and export -------------------------------------------------------------------


async def arrange(
    bozor: Harness, api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> list[datetime]:
    """Six referrals, created on 1-6 January 2025 at noon UTC (ids 1-6):
    alice: a0, a1 confirmed, a2 rejected, a3 held for review; bob: b0; carol: c0 (campaign
    spring). Returns their creation times."""
    alice = await link(api, integrator, "alice")
    for name in ("a0", "a1", "a2", "a3"):
        await refer(api, integrator, alice, name)
    await refer(api, integrator, await link(api, integrator, "bob"), "b0")
    created = await api.post(
        f"{ADMIN}/campaigns", json={"slug": "spring", "name": "Spring"}, headers=admin
    )
    assert created.status_code == 201
    await refer(api, integrator, await link(api, integrator, "carol", "spring"), "c0")
    a2 = next(i for i in await listing(api, admin) if i["referred_id"] == "a2")
    reason = 'Same device, "twice"\nsecond line'
    response = await api.post(
        f"{ADMIN}/referrals/{a2['id']}/reject", json={"reason": reason}, headers=admin
    )
    assert response.status_code == 200
    times = [datetime(2025, 1, day, 12, tzinfo=UTC) for day in range(1, 7)]
    async with bozor.db() as session:
        ids = list(await session.scalars(select(Referral.id).order_by(Referral.id)))
        assert ids == [1, 2, 3, 4, 5, 6]
        for referral_id, at in zip(ids, times, strict=True):
            await session.execute(
                update(Referral).where(Referral.id == referral_id).values(created_at=at)
            )
        await session.commit()
    return times


async def test_listing_filters(
    bozor: Harness, api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    times = await arrange(bozor, api, admin, integrator)
    everything = await listing(api, admin)
    assert referred(everything) == ["c0", "b0", "a3", "a2", "a1", "a0"], "newest first"
    assert [moment(item["created_at"]) for item in everything] == times[::-1]
    c0 = everything[0]
    assert (c0["referrer_id"], c0["status"], c0["source"], c0["campaign"]) == (
        "carol",
        "confirmed",
        "api",
        "spring",
    )
    assert c0["reason"] is None and c0["confirmed_at"] is not None
    assert everything[2]["status"] == "review" and everything[2]["reason"] == BURST
    assert everything[3]["status"] == "rejected" and "twice" in everything[3]["reason"]

    def noon(day: int) -> str:
        return f"2025-01-0{day}T12:00:00Z"

    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"status": "confirmed"}, ["c0", "b0", "a1", "a0"]),
        ({"status": "review"}, ["a3"]),
        ({"status": "rejected"}, ["a2"]),
        ({"status": "pending"}, []),
        ({"referrer_id": "alice"}, ["a3", "a2", "a1", "a0"]),
        ({"referrer_id": "alice", "status": "confirmed"}, ["a1", "a0"]),
        ({"referrer_id": "bob"}, ["b0"]),
        ({"referrer_id": "nobody"}, []),
        ({"referrer_id": "nobody", "status": "confirmed"}, []),
        ({"referrer_id": "tg:123456789"}, []),
        ({"referrer_id": "tg:abc"}, []),
        ({"referrer_id": "tg:²"}, []),  # a digit to str.isdigit, not to int()
        ({"referrer_id": "tg:99999999999999999999"}, []),  # beyond 64 bits
        ({"referrer_id": "a0"}, []),  # referred, referred nobody
        ({"campaign": "spring"}, ["c0"]),
        ({"campaign": "spring", "referrer_id": "alice"}, []),
        ({"since": noon(3)}, ["c0", "b0", "a3", "a2"]),  # at or after
        ({"until": noon(3)}, ["a1", "a0"]),  # before
        ({"since": "2025-01-02T00:00:00Z", "until": "2025-01-04T00:00:00Z"}, ["a2", "a1"]),
        ({"since": "2025-01-03T17:00:00+05:00"}, ["c0", "b0", "a3", "a2"]),  # noon UTC
        ({"until": "2025-01-03T07:00:00-05:00"}, ["a1", "a0"]),
        ({"since": noon(4), "until": noon(2)}, []),
        ({"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}, referred(everything)),
        ({"since": noon(2), "referrer_id": "alice", "status": "confirmed"}, ["a1"]),
    ]
    for params, expected in cases:
        assert referred(await listing(api, admin, **params)) == expected, params

    assert_problem(
        await api.get(f"{ADMIN}/referrals", params={"campaign": "nope"}, headers=admin),
        404,
        "campaign.not_found",
    )
    for params in (
        {"status": "bogus"},
        {"limit": 0},
        {"limit": 501},
        {"cursor": 0},
        {"since": "yesterday"},
        {"referrer_id": "x" * 129},
        {"campaign": "x" * 65},
    ):
        response = await api.get(f"{ADMIN}/referrals", params=params, headers=admin)
        assert_problem(response, 422, "request.invalid")


async def walk(
    api: httpx.AsyncClient, admin: dict[str, str], limit: int, **params: Any
) -> list[list[int]]:
    """The ids on every page, following next_cursor."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await api.get(f"{ADMIN}/referrals", params=query, headers=admin)
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
        assert cursor == pages[-1][-1] and len(pages) < 100


async def test_pages_walk_every_referral_once_newest_first(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    for referrer, friends in (("alice", 4), ("bob", 3), ("carol", 1)):
        code = await link(api, integrator, referrer)
        for n in range(friends):
            await refer(api, integrator, code, f"{referrer}-{n}")
    everything = [item["id"] for item in await listing(api, admin)]
    assert len(everything) == 8 and everything == sorted(everything, reverse=True)

    for limit in (1, 3, 7, 8, 500):
        pages = await walk(api, admin, limit)
        assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
        assert 1 <= len(pages[-1]) <= limit
        assert flat(pages) == everything, limit

    review = [item["id"] for item in await listing(api, admin, status="review")]
    assert len(review) == 3
    assert await walk(api, admin, 2, status="review") == [review[:2], review[2:]]
    alice = [item["id"] for item in await listing(api, admin, referrer_id="alice")]
    assert flat(await walk(api, admin, 3, referrer_id="alice")) == alice

    # referrals made while walking come before the cursor: the walk sees each old one once
    first = await api.get(f"{ADMIN}/referrals", params={"limit": 3}, headers=admin)
    await refer(api, integrator, await link(api, integrator, "dave"), "dave-0")
    rest = await api.get(
        f"{ADMIN}/referrals",
        params={"limit": 500, "cursor": first.json()["next_cursor"]},
        headers=admin,
    )
    seen = [item["id"] for item in first.json()["items"] + rest.json()["items"]]
    assert seen == everything

    last = await api.get(f"{ADMIN}/referrals", params={"cursor": min(everything)}, headers=admin)
    assert last.json() == {"items": [], "next_cursor": None}


async def export(
    api: httpx.AsyncClient, admin: dict[str, str], **params: Any
) -> list[dict[str, str]]:
    response = await api.get(f"{ADMIN}/referrals.csv", params=params, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0] == CSV_HEADER
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


def as_csv(item: dict[str, Any]) -> dict[str, Any]:
    """A listed referral as its CSV line should read (times compared as times)."""
    return {
        "id": str(item["id"]),
        "referrer_id": item["referrer_id"],
        "referred_id": item["referred_id"],
        "status": item["status"],
        "reason": item["reason"] or "",
        "source": item["source"],
        "campaign": item["campaign"] or "",
        "created_at": moment(item["created_at"]),
        "confirmed_at": moment(item["confirmed_at"]) if item["confirmed_at"] else "",
    }


def parsed(row: dict[str, str]) -> dict[str, Any]:
    return {
        **row,
        "created_at": moment(row["created_at"]),
        "confirmed_at": moment(row["confirmed_at"]) if row["confirmed_at"] else "",
    }


async def test_csv_export_matches_the_list(
    bozor: Harness, api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    await arrange(bozor, api, admin, integrator)
    everything = await export(api, admin)
    assert [parsed(row) for row in everything] == [as_csv(i) for i in await listing(api, admin)]
    rejected = [row for row in everything if row["status"] == "rejected"]
    assert [row["reason"] for row in rejected] == ['Same device, "twice"\nsecond line']
    assert [row["campaign"] for row in everything if row["campaign"]] == ["spring"]

    for params in (
        {"status": "confirmed"},
        {"status": "review"},
        {"referrer_id": "alice"},
        {"referrer_id": "alice", "status": "confirmed"},
        {"campaign": "spring"},
        {"since": "2025-01-02T00:00:00Z", "until": "2025-01-04T00:00:00Z"},
        {"since": "2025-01-03T17:00:00+05:00"},
        {"referrer_id": "nobody"},
        {"referrer_id": "tg:²"},
        {"status": "pending"},
    ):
        rows = [parsed(row) for row in await export(api, admin, **params)]
        assert rows == [as_csv(item) for item in await listing(api, admin, **params)], params
    assert await export(api, admin, referrer_id="nobody") == []

    unknown = await api.get(f"{ADMIN}/referrals.csv", params={"campaign": "nope"}, headers=admin)
    assert_problem(unknown, 404, "campaign.not_found")
    for params in ({"status": "bogus"}, {"since": "yesterday"}):
        response = await api.get(f"{ADMIN}/referrals.csv", params=params, headers=admin)
        assert_problem(response, 422, "request.invalid")


async def test_csv_export_streams_more_than_a_page(
    bozor: Harness, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    count = 2345  # the export reads 1000 at a time
    async with bozor.db() as session:
        rows = [{"external_id": f"u{n}", "referral_code": f"code{n:06d}"} for n in range(count + 1)]
        await session.execute(insert(User), rows)
        ids = {user.external_id: user.id for user in await session.scalars(select(User))}
        start = datetime(2025, 1, 1, tzinfo=UTC)
        await session.execute(
            insert(Referral),
            [
                {
                    "referrer_id": ids["u0"],
                    "referred_id": ids[f"u{n}"],
                    "status": ReferralStatus.REVIEW if n % 3 == 0 else ReferralStatus.CONFIRMED,
                    "source": "api",
                    "created_at": start + timedelta(minutes=n),
                }
                for n in range(1, count + 1)
            ],
        )
        await session.commit()

    everything = await export(api, admin)
    assert len(everything) == count
    numbers = [int(row["id"]) for row in everything]
    assert numbers == sorted(set(numbers), reverse=True), "each once, newest first"
    assert [row["referred_id"] for row in everything] == [f"u{n}" for n in range(count, 0, -1)]
    assert {row["referrer_id"] for row in everything} == {"u0"}

    review = await export(api, admin, status="review")
    assert [row["referred_id"] for row in review] == [
        f"u{n}" for n in range(count, 0, -1) if n % 3 == 0
    ]
    since = (start + timedelta(minutes=1500)).isoformat()
    late = await export(api, admin, since=since)
    assert len(late) == count - 1500 + 1
    pages = await walk(api, admin, 500)
    assert flat(pages) == numbers and len(pages) == 5


# --- campaigns ----------------------------------------------------------------------------


async def campaign(api: httpx.AsyncClient, admin: dict[str, str], slug: str) -> dict[str, Any]:
    response = await api.get(f"{ADMIN}/campaigns/{slug}", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def figures(campaign: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        campaign["clicks"],
        campaign["unique_clicks"],
        campaign["signups"],
        campaign["confirmed"],
    )


async def test_campaign_links_clicks_and_sign_ups(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    body = {"slug": "spring-2027", "name": "Spring 2027"}
    created = await api.post(f"{ADMIN}/campaigns", json=body, headers=admin)
    assert created.status_code == 201, created.text
    spring = created.json()
    assert (spring["slug"], spring["name"], spring["active"], spring["ends_at"]) == (
        "spring-2027",
        "Spring 2027",
        True,
        None,
    )
    assert figures(spring) == (0, 0, 0, 0)
    taken = await api.post(f"{ADMIN}/campaigns", json={**body, "name": "Other"}, headers=admin)
    assert_problem(taken, 409, "campaign.taken")
    for bad in (
        {**body, "slug": "Spring"},
        {**body, "slug": "-spring"},
        {**body, "slug": "has space"},
        {**body, "slug": "x" * 65},
        {**body, "name": ""},
        {"slug": "autumn"},
        {**body, "ends_at": "soon"},
    ):
        assert_problem(await api.post(f"{ADMIN}/campaigns", json=bad, headers=admin), 422)
    listed = (await api.get(f"{ADMIN}/campaigns", headers=admin)).json()
    assert [c["slug"] for c in listed] == ["spring-2027"]

    plain = await link(api, integrator, "alice")
    made = await api.post(
        "/api/v1/generate-link",
        json={"user_id": "alice", "campaign": "spring-2027"},
        headers=integrator,
    )
    assert made.status_code == 200 and made.json()["campaign"] == "spring-2027"
    code = made.json()["code"]
    assert code != plain
    assert made.json()["web_link"].endswith(f"/r/{code}")
    assert await link(api, integrator, "alice", "spring-2027") == code, "stable"
    assert await link(api, integrator, "alice") == plain

    clicked = await api.get(f"/r/{code}", headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert clicked.status_code == 302
    await api.get(f"/r/{code}", headers={"User-Agent": PREVIEW})  # a link preview: not counted
    joined = await refer(api, integrator, code, "bob")
    assert (joined["campaign"], joined["referrer_id"], joined["status"]) == (
        "spring-2027",
        "alice",
        "confirmed",
    )
    assert (await refer(api, integrator, plain, "carol"))["campaign"] is None
    assert figures(await campaign(api, admin, "spring-2027")) == (1, 1, 1, 1)
    [listed_referral] = await listing(api, admin, campaign="spring-2027")
    assert (listed_referral["referred_id"], listed_referral["campaign"]) == ("bob", "spring-2027")
    assert [i["campaign"] for i in await listing(api, admin, referrer_id="alice")] == [
        None,
        "spring-2027",
    ]

    paused = await api.patch(
        f"{ADMIN}/campaigns/spring-2027", json={"active": False}, headers=admin
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert paused.json()["name"] == "Spring 2027", "only what was sent changes"
    refused = await api.post(
        "/api/v1/generate-link",
        json={"user_id": "dave", "campaign": "spring-2027"},
        headers=integrator,
    )
    assert_problem(refused, 409, "campaign.inactive")
    assert await link(api, integrator, "alice", "spring-2027") == code, "existing links stay"
    erin = await refer(api, integrator, code, "erin")  # alice's third: held for review
    assert (erin["campaign"], erin["status"]) == ("spring-2027", "review")
    assert figures(await campaign(api, admin, "spring-2027")) == (1, 1, 2, 1)
    approved = await api.post(f"{ADMIN}/referrals/{erin['id']}/approve", headers=admin)
    assert approved.json()["campaign"] == "spring-2027"
    assert figures(await campaign(api, admin, "spring-2027")) == (1, 1, 2, 2)

    resumed = await api.patch(
        f"{ADMIN}/campaigns/spring-2027",
        json={"active": True, "name": "Spring, again"},
        headers=admin,
    )
    assert (resumed.json()["active"], resumed.json()["name"]) == (True, "Spring, again")
    assert await link(api, integrator, "dave", "spring-2027") not in (code, plain)

    for method, url, payload in (
        ("GET", f"{ADMIN}/campaigns/nope", None),
        ("PATCH", f"{ADMIN}/campaigns/nope", {"active": False}),
        ("POST", "/api/v1/generate-link", {"user_id": "alice", "campaign": "nope"}),
    ):
        headers = integrator if url.startswith("/api/v1/generate") else admin
        response = await api.request(method, url, json=payload, headers=headers)
        assert_problem(response, 404, "campaign.not_found")
    assert_problem(
        await api.get(f"{ADMIN}/referrals", params={"campaign": "nope"}, headers=admin),
        404,
        "campaign.not_found",
    )


async def test_ended_campaign_makes_no_links_and_no_longer_attributes(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    ends = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = {"slug": "summer", "name": "Summer", "ends_at": ends.isoformat()}
    created = await api.post(f"{ADMIN}/campaigns", json=body, headers=admin)
    assert created.status_code == 201 and moment(created.json()["ends_at"]) == ends
    code = await link(api, integrator, "alice", "summer")

    past = datetime(2025, 1, 1, 12, tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))  # any zone
    ended = await api.patch(
        f"{ADMIN}/campaigns/summer", json={"ends_at": past.isoformat()}, headers=admin
    )
    assert ended.status_code == 200 and moment(ended.json()["ends_at"]) == past
    assert ended.json()["active"] is True
    assert (await campaign(api, admin, "summer"))["ends_at"] == "2025-01-01T12:00:00Z"
    refused = await api.post(
        "/api/v1/generate-link", json={"user_id": "bob", "campaign": "summer"}, headers=integrator
    )
    assert_problem(refused, 409, "campaign.inactive")
    assert await link(api, integrator, "alice", "summer") == code
    joined = await refer(api, integrator, code, "carol")
    assert (joined["referrer_id"], joined["campaign"]) == ("alice", None), "refers, no campaign"
    assert figures(await campaign(api, admin, "summer")) == (0, 0, 0, 0)

    cleared = await api.patch(f"{ADMIN}/campaigns/summer", json={"ends_at": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["ends_at"] is None
    await link(api, integrator, "bob", "summer")
    renamed = await api.patch(f"{ADMIN}/campaigns/summer", json={"name": "Hot"}, headers=admin)
    assert renamed.json()["ends_at"] is None, "ends_at is only changed when sent"
    assert renamed.json()["name"] == "Hot"
    for bad in ({"name": ""}, {"active": "maybe"}, {"ends_at": "2030-01-01T00:00:00"}):
        response = await api.patch(f"{ADMIN}/campaigns/summer", json=bad, headers=admin)
        assert_problem(response, 422, "request.invalid")


async def test_simultaneous_campaign_creation_and_links(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    body = {"slug": "launch", "name": "Launch"}
    answers = await asyncio.gather(
        *(api.post(f"{ADMIN}/campaigns", json=body, headers=admin) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "campaign.taken")
    links = await asyncio.gather(
        *(
            api.post(
                "/api/v1/generate-link",
                json={"user_id": "alice", "campaign": "launch"},
                headers=integrator,
            )
            for _ in range(4)
        )
    )
    assert [a.status_code for a in links] == [200] * 4
    assert len({a.json()["code"] for a in links}) == 1, "one link per user and campaign"


async def test_sign_up_just_after_the_campaign_ended_has_no_campaign(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    body = {"slug": "flash", "name": "Flash sale"}
    assert (await api.post(f"{ADMIN}/campaigns", json=body, headers=admin)).status_code == 201
    code = await link(api, integrator, "alice", "flash")
    assert (await api.get(f"/r/{code}", headers={"User-Agent": BROWSER})).status_code == 302
    ended = await api.patch(
        f"{ADMIN}/campaigns/flash", json={"ends_at": "2025-01-01T00:00:00Z"}, headers=admin
    )
    assert ended.status_code == 200
    assert (await refer(api, integrator, code, "bob"))["campaign"] is None


# --- input that must never break a route ----------------------------------------------------


async def test_malformed_input_is_refused_not_a_server_error(
    api: httpx.AsyncClient, admin: dict[str, str], integrator: dict[str, str]
) -> None:
    """Naive or unrepresentable times and NUL characters (which PostgreSQL text cannot hold)
    used to answer 500 — or, in the CSV export, cut the response off mid-stream."""
    created = await api.post(
        f"{ADMIN}/campaigns", json={"slug": "spring", "name": "Spring"}, headers=admin
    )
    assert created.status_code == 201
    code = await link(api, integrator, "alice")
    waiting = [await refer(api, integrator, code, f"f{n}") for n in range(3)][-1]
    assert waiting["status"] == "review"

    bad_queries: list[dict[str, str]] = [
        {"since": "2025-01-01T00:00:00"},  # no time zone
        {"until": "2025-01-01"},
        {"until": "0001-01-01T00:00:00+05:00"},  # before year 1 in UTC
        {"since": "9999-12-31T23:59:59-05:00"},
        {"referrer_id": "a\x00b"},
        {"campaign": "sp\x00ring"},
    ]
    for url in (f"{ADMIN}/referrals", f"{ADMIN}/referrals.csv"):
        for params in bad_queries:
            response = await api.get(url, params=params, headers=admin)
            assert_problem(response, 422, "request.invalid")

    program = {"per_referral": 1, "welcome": 1, "tiers": []}
    bad_bodies: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{ADMIN}/campaigns", {"slug": "a", "name": "A", "ends_at": "2030-01-01T00:00"}),
        (
            "POST",
            f"{ADMIN}/campaigns",
            {"slug": "b", "name": "B", "ends_at": "0001-01-01T01:00+02"},
        ),
        ("POST", f"{ADMIN}/campaigns", {"slug": "c", "name": "C\x00"}),
        ("PATCH", f"{ADMIN}/campaigns/spring", {"ends_at": "2030-01-01T00:00:00"}),
        ("PATCH", f"{ADMIN}/campaigns/spring", {"name": "\x00"}),
        ("POST", f"{ADMIN}/referrals/{waiting['id']}/reject", {"reason": "spam\x00"}),
        (
            "PUT",
            f"{ADMIN}/reward-program",
            {**program, "tiers": [{"name": "G\x00", "threshold": 1, "amount": 1}]},
        ),
    ]
    for method, url, body in bad_bodies:
        response = await api.request(method, url, json=body, headers=admin)
        assert_problem(response, 422, "request.invalid")
    for method in ("GET", "PATCH"):
        response = await api.request(
            method, f"{ADMIN}/campaigns/sp%00ring", json={"name": "x"}, headers=admin
        )
        assert_problem(response, 422, "request.invalid")
    not_json = await api.put(
        f"{ADMIN}/reward-program",
        content=b"{nope",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert_problem(not_json, 422, "request.invalid")

    # nothing was changed by the refused requests
    assert (await campaign(api, admin, "spring"))["name"] == "Spring"
    assert [c["slug"] for c in (await api.get(f"{ADMIN}/campaigns", headers=admin)).json()] == [
        "spring"
    ]
    assert referred(await listing(api, admin, status="review")) == ["f2"]
    program_now = await api.get(f"{ADMIN}/reward-program", headers=admin)
    assert program_now.json() == DEFAULT_PROGRAM


async def test_simultaneous_program_changes_all_succeed(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    programs = [{"per_referral": n, "welcome": 1, "tiers": []} for n in range(4)]
    answers = await asyncio.gather(
        *(api.put(f"{ADMIN}/reward-program", json=p, headers=admin) for p in programs)
    )
    assert [a.status_code for a in answers] == [200] * 4
    assert (await api.get(f"{ADMIN}/reward-program", headers=admin)).json() in programs
