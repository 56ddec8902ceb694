"""Every operation in the OpenAPI document, fuzzed by Schemathesis against the running app.

For any input, valid or not, the API must answer without a 5xx, and with a status code,
content type and body that its own OpenAPI document declares. The operations are read from
the app's /openapi.json, so routes added later are fuzzed without changes here.

A deeper run with new inputs: BOZOR_FUZZ_EXAMPLES=500 BOZOR_FUZZ_RANDOM=1 pytest tests/api
Some operations only: BOZOR_FUZZ_ONLY="PATCH /api/v1/admin/campaigns" (a part of their labels).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from bozor.apikeys import service as keys_service
from bozor.settings import Settings
from bozor.testing import Harness, free_port

# Per operation and generation mode (valid, invalid input): about 85 s of CPU in all (measured
# on a shared 2-core machine, 2026-12); CI time is mostly this.
EXAMPLES = int(os.environ.get("BOZOR_FUZZ_EXAMPLES", "25"))
ONLY = os.environ.get("BOZOR_FUZZ_ONLY", "")
# An operation of an OpenAPI schema (its parameters, request body, responses and schema).
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
# One backend, to halve the time: PostgreSQL, stricter than SQLite (it refuses NUL in text,
# for one), unless the run leaves it out.
BACKEND = (
    "postgres" if "postgres" in os.environ.get("BOZOR_TEST_BACKENDS", "postgres") else "sqlite"
)
CHECKS = (
    "not_a_server_error",  # no 5xx
    "status_code_conformance",  # only documented status codes
    "content_type_conformance",  # ... with their documented media type
    "response_schema_conformance",  # ... and a body that matches its schema
    "response_headers_conformance",
    "negative_data_rejection",  # invalid input (as the document defines it) is refused
)


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    overrides: dict[str, Any] = {"http_port": free_port()}  # Schemathesis calls over a socket
    if "api_rate_per_key" in Settings.model_fields:  # hundreds of calls a second are the point
        overrides.update(api_rate_per_key=0, api_rate_per_ip=0)
    return overrides


async def seed(api: httpx.AsyncClient) -> dict[str, list[str | int]]:
    """Real data for the fuzzer to hit: a referrer and her code, a referral, rewards, a click,
    and one of each thing an admin edits (without one, an invalid body sent to edit it could
    be accepted unseen: the answer would be 404 either way)."""

    async def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await api.post(path, json=body)
        assert response.is_success, response.text
        return dict(response.json())

    code = (await call("/api/v1/generate-link", {"user_id": "fuzz-alice"}))["code"]
    referral = await call("/api/v1/verify-referral", {"code": code, "user_id": "fuzz-bob"})
    click = (await call("/api/v1/track-click", {"code": code, "ip": "10.0.0.1"}))["click_id"]
    rewards = (await api.get("/api/v1/rewards/fuzz-alice")).json()["rewards"]
    campaign = await call("/api/v1/admin/campaigns", {"slug": "fuzz", "name": "Fuzz"})
    category = await call("/api/v1/admin/shop/categories", {"name": "Fuzz"})
    product = await call(
        "/api/v1/admin/shop/products",
        {"category_id": category["id"], "title": "Fuzz card", "price_stars": 10},
    )
    faq = await call("/api/v1/admin/shop/faq", {"question": "Fuzz?", "answer": "Fuzz."})
    subscription = await call(
        "/api/v1/admin/webhooks", {"url": "https://example.com/hook", "events": ["*"]}
    )
    return {
        "codes": [code],
        "users": ["fuzz-alice", "fuzz-bob"],
        "rewards": [reward["id"] for reward in rewards],
        "clicks": [click],
        "referrals": [referral["id"]],
        "campaigns": [campaign["slug"]],
        "categories": [category["id"]],
        "products": [product["id"]],
        "faqs": [faq["id"]],
        "subscriptions": [subscription["id"]],
    }


def one_spelling_each(spec: dict[str, Any]) -> Any:
    """A `map_body` hook: of the spellings of one field a body may use (Bozor's name and the
    reference's, `x-alias-of` in the schema), keep one, so that bodies do not nearly all carry
    two different values for one field (a 422 that hides the paths behind it). Which one
    varies with the value, so each spelling is sent too."""
    aliases: dict[str, dict[str, None]] = {}  # Bozor's name -> its other spellings (any schema)
    for component in spec.get("components", {}).get("schemas", {}).values():
        for name, prop in component.get("properties", {}).items():
            if isinstance(prop, dict) and "x-alias-of" in prop:
                aliases.setdefault(prop["x-alias-of"], {})[name] = None

    def map_body(_: Any, body: Any) -> Any:
        if not isinstance(body, dict):
            return body
        body = dict(body)
        for own, others in aliases.items():
            sent = [name for name in (own, *others) if name in body]
            # Values of different types: a negative case (one of them made invalid) keeps both,
            # so that it stays invalid instead of turning into a valid body.
            if len(sent) > 1 and len({type(body[name]) for name in sent}) == 1:
                keep = sent[len(repr(body[sent[0]])) % len(sent)]
                for name in sent:
                    if name != keep:
                        del body[name]
        return body

    return map_body


def exercise(operation: Operation, mode: GenerationMode) -> set[int]:
    """Call one operation with generated input and check each answer; the statuses seen."""
    seen: set[int] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        # The same inputs every run, so that a failure in CI reproduces locally.
        derandomize=os.environ.get("BOZOR_FUZZ_RANDOM") is None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is shown
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        seen.add(case.call_and_validate().status_code)

    run()
    return seen


def fuzz(schema: schemathesis.BaseSchema) -> list[str]:
    """Every operation with valid and with invalid input; what went wrong, described."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # Schemathesis cannot read the operation
            failures.append(str(result.err()))
            continue
        operation = result.ok()
        if ONLY not in operation.label:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                seen = exercise(operation, mode)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    failures.append(f"{operation.label}: no valid input could be generated")
                # else there is nothing to get wrong (no parameters, or any string will do)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} with {mode.value} data: {exc}")
            else:
                if mode is GenerationMode.POSITIVE and seen <= {401, 403}:
                    failures.append(f"{operation.label}: valid input never got past the key")
    return failures


@pytest.mark.timeout(max(300, EXAMPLES * 12))
@pytest.mark.parametrize("database_url", [BACKEND], indirect=True)
async def test_every_operation_answers_as_documented(bozor: Harness) -> None:
    async with bozor.db() as session:
        created = await keys_service.create(
            session=session, name="fuzz", scopes=["admin", "referrals"]
        )
        await session.commit()
    base_url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": created.secret}) as api:
        known = await seed(api)
    config = schemathesis.Config.from_dict(
        {
            "headers": {"X-API-Key": created.secret},  # on every case: all scopes
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            # Half the time a value that exists, or nearly every lookup would be a 404.
            "parameters": {
                "path.code": {"dictionary": "codes", "probability": 0.5},
                "body.code": {"dictionary": "codes", "probability": 0.5},
                "path.user_id": {"dictionary": "users", "probability": 0.5},
                "body.user_id": {"dictionary": "users", "probability": 0.5},
                "body.reward_id": {"dictionary": "rewards", "probability": 0.5},
                "body.click_id": {"dictionary": "clicks", "probability": 0.5},
                "path.referral_id": {"dictionary": "referrals", "probability": 0.5},
                "path.slug": {"dictionary": "campaigns", "probability": 0.5},
                "path.category_id": {"dictionary": "categories", "probability": 0.5},
                "body.category_id": {"dictionary": "categories", "probability": 0.5},
                "path.product_id": {"dictionary": "products", "probability": 0.5},
                "path.faq_id": {"dictionary": "faqs", "probability": 0.5},
                "path.subscription_id": {"dictionary": "subscriptions", "probability": 0.5},
            },
        }
    )
    # Schemathesis calls the API synchronously: from a thread, while the app runs on this loop.
    schema = await asyncio.to_thread(
        schemathesis.openapi.from_url, f"{base_url}/openapi.json", config=config
    )
    schema.hook("map_body")(one_spelling_each(schema.raw_schema))
    failures = await asyncio.to_thread(fuzz, schema)
    assert not failures, "\n\n".join(failures)
