"""Slowing down guessing: failed sign-ins lock an account and an IP out, exponentially.

Scopes are "account:password", "account:key:<prefix>", "account:telegram:<id>" and
"ip:<address>". After DASHBOARD_SIGNIN_FREE_FAILURES failures of a scope it is locked for
DASHBOARD_SIGNIN_LOCK_SECONDS; every further failure doubles the lock, up to
DASHBOARD_SIGNIN_MAX_LOCK_SECONDS. While a scope is locked no secret is even checked (the right
password is refused too), so a guesser gets a handful of tries, then one per lock period.
A success forgets its scopes' failures; a day without failures forgets them too.

Exact under concurrency: an attempt is counted as a failure *before* its secret is checked, in
one atomic step that also sets the lock when the count reaches it (a conditional upsert in the
database, a Lua script in Redis). Fifty guesses sent at once therefore get five checks, not
fifty; a success then deletes the count. Counted in the database, or in Redis when REDIS_URL
is set: every instance sees the same count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.dashboard.models import SigninFailure
from bozor.db import upsert_insert, utcnow
from bozor.settings import Settings

FORGET = timedelta(days=1)

# KEYS: count, lock. ARGV: forget seconds, free failures, first lock ms, longest lock ms.
# Answers {-1, ms left} while locked, else {count, ms locked now (0: not locked)}.
_CLAIM = """
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {-1, left} end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
local free = tonumber(ARGV[2])
if n < free then return {n, 0} end
local ms = math.min(tonumber(ARGV[3]) * 2 ^ math.min(n - free, 40), tonumber(ARGV[4]))
ms = math.max(1, math.floor(ms))
redis.call('SET', KEYS[2], '1', 'PX', ms)
return {n, ms}
"""


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


@dataclass(frozen=True, slots=True)
class Claim:
    """An attempt counted against its scopes: allowed to be checked, or refused (locked)."""

    allowed: bool
    wait: float  # refused: seconds until it may try again; allowed: the lock if it fails


class Backoff:
    """The lock-out state of sign-in scopes (one per app)."""

    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        self.settings = settings
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:dashboard:signin"

    async def claim(self, db: AsyncSession, scopes: list[str]) -> Claim:
        """Count one attempt against every scope, unless one of them is locked. Until
        `succeeded()`, the attempt counts as a failure (and may have set the lock)."""
        wait = await self.wait(db, scopes)
        if wait:
            return Claim(False, wait)
        claimed: list[str] = []
        longest = 0.0
        for scope in scopes:
            counted = await self._count(db, scope)
            if counted is None:  # locked meanwhile by a concurrent attempt
                for done in claimed:
                    await self._uncount(db, done)
                return Claim(False, max(await self.wait(db, scopes), 1.0))
            claimed.append(scope)
            longest = max(longest, counted)
        return Claim(True, longest)

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

    async def succeeded(self, db: AsyncSession, scopes: list[str]) -> None:
        """Forget the failures (and the lock this attempt may have set) of these scopes."""
        if self.redis is not None:
            names = [f"{self.prefix}:{kind}:{s}" for s in scopes for kind in ("fail", "lock")]
            await self.redis.delete(*names)
            return
        await db.execute(delete(SigninFailure).where(SigninFailure.scope.in_(scopes)))

    async def _count(self, db: AsyncSession, scope: str) -> float | None:
        """Count one failure of `scope` unless it is locked (None); the lock it now has."""
        settings = self.settings
        if self.redis is not None:
            count, ms = await self.redis.eval(
                _CLAIM,
                2,
                f"{self.prefix}:fail:{scope}",
                f"{self.prefix}:lock:{scope}",
                int(FORGET.total_seconds()),
                settings.dashboard_signin_free_failures,
                int(settings.dashboard_signin_lock_seconds * 1000),
                int(settings.dashboard_signin_max_lock_seconds * 1000),
            )
            return None if int(count) < 0 else int(ms) / 1000
        now = utcnow()
        await db.execute(  # scopes nobody has failed for a day, and not locked: forgotten
            delete(SigninFailure).where(
                SigninFailure.last_failed_at < now - FORGET,
                SigninFailure.locked_until.is_(None) | (SigninFailure.locked_until < now),
            )
        )
        # One statement, which skips a locked scope: concurrent attempts each add one, and
        # one that comes after the lock was set is refused. The row stays locked until this
        # transaction ends, so the lock set below is seen by the next attempt.
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
                where=SigninFailure.locked_until.is_(None) | (SigninFailure.locked_until <= now),
            )
            .returning(SigninFailure.failures)
        )
        count = (await db.execute(statement)).scalar_one_or_none()
        if count is None:
            return None
        seconds = lock_seconds(settings, int(count))
        if seconds:
            await db.execute(
                update(SigninFailure)
                .where(SigninFailure.scope == scope)
                .values(locked_until=now + timedelta(seconds=seconds))
            )
        return seconds

    async def _uncount(self, db: AsyncSession, scope: str) -> None:
        """Take back a count made by an attempt that was then refused on another scope."""
        if self.redis is not None:
            await self.redis.decr(f"{self.prefix}:fail:{scope}")
            return
        await db.execute(
            update(SigninFailure)
            .where(SigninFailure.scope == scope, SigninFailure.failures > 0)
            .values(failures=SigninFailure.failures - 1)
        )
