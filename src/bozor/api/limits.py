"""API rate limits per client IP (every API route) and per API key (authenticated routes),
shared by all instances through Redis when REDIS_URL is set. Over the limit: 429 with
Retry-After."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from redis.asyncio import Redis

from bozor.ratelimit import KeyedLimiter, retry_after_header
from bozor.settings import Settings


@dataclass(frozen=True, slots=True)
class ApiLimits:
    per_ip: KeyedLimiter | None
    per_key: KeyedLimiter | None


def limits_from(settings: Settings, redis: Redis | None) -> ApiLimits:
    def per_minute(limit: int, name: str) -> KeyedLimiter | None:
        if not limit:
            return None
        return KeyedLimiter(limit / 60, limit, redis, prefix=f"{settings.redis_prefix}:api:{name}")

    return ApiLimits(
        per_minute(settings.api_rate_per_ip, "ip"), per_minute(settings.api_rate_per_key, "key")
    )


def _too_many(wait: float) -> HTTPException:
    seconds = retry_after_header(wait)
    return HTTPException(
        429, f"Too many requests; retry in {seconds} s.", headers={"Retry-After": seconds}
    )


async def limit_ip(request: Request) -> None:
    """A dependency: counts the request against its client IP."""
    limiter = request.app.state.limits.per_ip
    if limiter is None:
        return
    wait = await limiter.hit(request.client.host if request.client else "-")
    if wait:
        raise _too_many(wait)


async def limit_key(request: Request, key_id: int) -> None:
    limiter = request.app.state.limits.per_key
    if limiter is None:
        return
    wait = await limiter.hit(str(key_id))
    if wait:
        raise _too_many(wait)
