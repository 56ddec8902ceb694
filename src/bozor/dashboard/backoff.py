"""Slowing down guessing: failed sign-ins lock an account and an IP out, exponentially.

After DASHBOARD_SIGNIN_FREE_FAILURES failures of a scope ("account:password",
"account:key:<prefix>", "account:telegram:<id>", "ip:<address>") it is locked for
DASHBOARD_SIGNIN_LOCK_SECONDS; every further failure doubles the lock, up to
DASHBOARD_SIGNIN_MAX_LOCK_SECONDS. While a scope is locked no secret is even checked (the right
password is refused too), so a guesser gets a handful of tries, then one per lock period.
A success forgets its scopes' failures; a day without failures forgets them too.

Counted in the database, or in Redis when REDIS_URL is set: every instance sees the same count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.dashboard.models import SigninFailure
from bozor.db import upsert_insert, utcnow
from bozor.settings import Settings

FORGET = timedelta(days=1)


def lock_seconds(settings: Settings, failures: int) -> float:
    """How long a scope is locked after its `failures`-th failure (0: not locked)."""
    free = settings.dashboard_signin_free_failures
    if failures < free:
        return 0.0
    doubling = min(failures - free, 40)
    return float(
        min(
            settings.dashboard_signin_lock_seconds * 2**doubling,
            settings.dashboard_signin_max_lock_seconds,
        )
    )


class Backoff:
    """The lock-out state of sign-in scopes (one per app)."""

    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        self.settings = settings
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:dashboard:signin"

    async def wait(self, db: AsyncSession, scopes: list[str]) -> float:
        """Seconds until none of `scopes` is locked (0: go ahead)."""
        if self.redis is not None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for scope in scopes:
                    pipe.pttl(f"{self.prefix}:lock:{scope}")
                left = await pipe.execute()
            return max([ms / 1000 for ms in left if ms and ms > 0], default=0.0)
        now = utcnow()
        until: datetime | None = await db.scalar(
            select(func.max(SigninFailure.locked_until)).where(
                SigninFailure.scope.in_(scopes), SigninFailure.locked_until > now
            )
        )
        return max(0.0, (until - now).total_seconds()) if until is not None else 0.0

    async def failed(self, db: AsyncSession, scopes: list[str]) -> float:
        """Count one failure of each scope; the seconds they are now locked for (0: none)."""
        longest = 0.0
        for scope in scopes:
            count = await self._count(db, scope)
            seconds = lock_seconds(self.settings, count)
            if seconds:
                await self._lock(db, scope, seconds)
            longest = max(longest, seconds)
        return longest

    async def succeeded(self, db: AsyncSession, scopes: list[str]) -> None:
        """Forget the failures of these scopes."""
        if self.redis is not None:
            names = [f"{self.prefix}:{kind}:{s}" for s in scopes for kind in ("fail", "lock")]
            await self.redis.delete(*names)
            return
        await db.execute(delete(SigninFailure).where(SigninFailure.scope.in_(scopes)))

    async def _count(self, db: AsyncSession, scope: str) -> int:
        if self.redis is not None:
            name = f"{self.prefix}:fail:{scope}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, int(FORGET.total_seconds()))
                count, _ = await pipe.execute()
            return int(count)
        now = utcnow()
        # One statement: concurrent failures each add one (no read-modify-write).
        insert = upsert_insert(db, SigninFailure.__table__)
        statement = (
            insert.values(scope=scope, failures=1, last_failed_at=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=["scope"],
                set_={
                    "failures": case(
                        (SigninFailure.last_failed_at < now - FORGET, 1),
                        else_=SigninFailure.failures + 1,
                    ),
                    "last_failed_at": now,
                },
            )
            .returning(SigninFailure.failures)
        )
        return int((await db.execute(statement)).scalar_one())

    async def _lock(self, db: AsyncSession, scope: str, seconds: float) -> None:
        if self.redis is not None:
            await self.redis.set(f"{self.prefix}:lock:{scope}", "1", px=max(1, int(seconds * 1000)))
            return
        until = utcnow() + timedelta(seconds=seconds)
        await db.execute(
            update(SigninFailure)
            .where(
                SigninFailure.scope == scope,
                (SigninFailure.locked_until.is_(None)) | (SigninFailure.locked_until < until),
            )
            .values(locked_until=until)
        )
