"""Idempotency-Key for writes integrators retry: the first successful answer is kept under
(API key, Idempotency-Key) for at least a day (the worker deletes older ones) and replayed to
every retry, even one racing the first.

Only successes are kept: a refused request changed nothing, and sending it again gives the
same refusal unless something changed meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.api.auth import Caller
from bozor.db import utcnow
from bozor.errors import DomainError, InvalidInputError
from bozor.idempotency import KEEP_FOR as KEEP_FOR
from bozor.idempotency import IdempotentResponse

REPLAYED = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Any unique string (a UUID) per logical request: a retry with the same key "
        "gets the first answer again instead of doing the work twice. Kept for 24 hours.",
    ),
]


def fingerprint(request: Request, body: BaseModel) -> str:
    text = f"{request.method} {request.url.path} {body.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()


async def _stored(session: AsyncSession, caller: Caller, key: str) -> IdempotentResponse | None:
    return await session.scalar(
        select(IdempotentResponse).where(
            IdempotentResponse.api_key_id == caller.key_id,
            IdempotentResponse.key == key,
        )
    )


def _replay(stored: IdempotentResponse, expected: str) -> JSONResponse:
    if stored.fingerprint != expected:
        raise InvalidInputError("idempotency.mismatch")
    return JSONResponse(stored.body, status_code=stored.status_code, headers={REPLAYED: "true"})


async def run_once(
    *,
    session: AsyncSession,
    request: Request,
    caller: Caller,
    key: str | None,
    body: BaseModel,
    status_code: int,
    work: Callable[[AsyncSession], Awaitable[BaseModel]],
) -> JSONResponse:
    """Do `work` (which must not commit) and commit it with its stored answer, or replay the
    answer stored under `key`."""
    if key is None:
        result = await work(session)
        await session.commit()
        return JSONResponse(result.model_dump(mode="json"), status_code=status_code)
    expected = fingerprint(request, body)
    stored = await _stored(session, caller, key)
    if stored is not None:
        return _replay(stored, expected)
    try:
        result = await work(session)
        answer = result.model_dump(mode="json")
        session.add(
            IdempotentResponse(
                api_key_id=caller.key_id,
                key=key,
                fingerprint=expected,
                status_code=status_code,
                body=answer,
                created_at=utcnow(),
            )
        )
        await session.commit()
    except (DomainError, IntegrityError):
        # A concurrent request with the same key may have won: then its answer is ours.
        await session.rollback()
        stored = await _stored(session, caller, key)
        if stored is not None:
            return _replay(stored, expected)
        raise
    return JSONResponse(answer, status_code=status_code)
