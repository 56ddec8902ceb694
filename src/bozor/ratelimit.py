"""Rate limits by key (a user, an API key, an IP): in memory for one process, or in Redis so
that every instance counts against the same limit."""

from __future__ import annotations

import math
import time

from redis.asyncio import Redis


class KeyedLimiter:
    """At most `burst` hits at once per key, refilled at `rate` per second.

    In memory: a token bucket per key. With Redis: a fixed window of burst/rate seconds
    admitting `burst` hits, close to the bucket at two round-trips at most.
    """

    def __init__(
        self, rate: float, burst: int, redis: Redis | None = None, *, prefix: str = "bozor"
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.redis = redis
        self.prefix = prefix
        self.window = max(1, round(burst / rate))
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str) -> float:
        """Count one hit; 0 if allowed, else the seconds until one would be."""
        if self.redis is not None:
            return await self._hit_shared(key)
        now = time.monotonic()
        tokens, updated = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate
        if len(self._buckets) > 100_000:  # forget idle keys
            idle = self.burst / self.rate
            self._buckets = {k: b for k, b in self._buckets.items() if now - b[1] < idle}
        return wait

    async def _hit_shared(self, key: str) -> float:
        assert self.redis is not None
        now = time.time()
        slot = int(now) // self.window
        name = f"{self.prefix}:rate:{key}:{slot}"
        count = await self.redis.incr(name)
        if count == 1:
            await self.redis.expire(name, self.window + 1)
        if int(count) <= self.burst:
            return 0.0
        return (slot + 1) * self.window - now


def retry_after_header(wait: float) -> str:
    """Retry-After is whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
