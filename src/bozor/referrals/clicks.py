"""Clicks on referral links: recorded without raw IPs, bots recorded but not counted."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import distinct, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import session_scope, utcnow
from bozor.referrals.models import Click
from bozor.referrals.service import CodeOwner, find_referrer

log = logging.getLogger(__name__)

# Link-preview fetchers (Telegram, WhatsApp, Slack...) and crawlers open links nobody clicked.
_BOT_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|preview|facebookexternalhit|whatsapp|slack|discord|skype|"
    r"vkshare|embedly|pinterest|curl/|wget/|python-requests|headless",
    re.IGNORECASE,
)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True, slots=True)
class Visit:
    """What the edge knows about a click."""

    ip: str
    user_agent: str = ""
    referer: str | None = None
    utm: dict[str, str] = field(default_factory=dict)


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(_BOT_AGENT.search(user_agent))


def visitor_hash(secret: str, visit: Visit, day: date) -> str:
    """A keyed hash of IP and user agent; the key changes daily, so visitors cannot be
    followed from one day to the next and the IP cannot be recovered."""
    return hmac.new(
        _day_key(secret, day), f"{visit.ip}|{visit.user_agent}".encode(), hashlib.sha256
    ).hexdigest()


@lru_cache(maxsize=8)
def _day_key(secret: str, day: date) -> bytes:
    return hmac.new(
        secret.encode(), f"visitors:{day.isoformat()}".encode(), hashlib.sha256
    ).digest()


def _text(value: str) -> str:
    """What a visitor sent, storable: PostgreSQL text cannot hold NUL."""
    return value.replace("\x00", "")


@dataclass(frozen=True, slots=True)
class RecordedClick:
    id: int
    is_bot: bool


# A Core INSERT, not an ORM object: for one row nothing reads afterwards, the unit of work
# (object, add, flush) added about a fifth to the CPU of each click (bench/api_costs.py), on
# the busiest path there is.
_CLICKS = Click.metadata.tables[Click.__tablename__]
_INSERT_CLICK = insert(_CLICKS).returning(_CLICKS.c.id)


def click_row(owner: CodeOwner, visit: Visit, secret: str, source: str) -> dict[str, Any]:
    """The `clicks` row for a visit to the owner's link."""
    now = utcnow()
    return {
        "referrer_id": owner.id,
        "visitor": visitor_hash(secret, visit, now.date()),
        "is_bot": is_bot(visit.user_agent),
        "user_agent": _text(visit.user_agent)[:512] or None,
        "referer": _text(visit.referer or "")[:1024] or None,
        "utm": {k: _text(v)[:200] for k, v in visit.utm.items() if k in UTM_KEYS},
        "source": source,
        "campaign_id": owner.campaign_id,
        "created_at": now,
    }


async def record_click(
    *, session: AsyncSession, code: str, visit: Visit, secret: str, source: str = "redirect"
) -> tuple[RecordedClick, CodeOwner]:
    """Record a visit to a referral link now, in the session's transaction; unknown codes
    are refused."""
    owner = await find_referrer(session=session, code=code)
    row = click_row(owner, visit, secret, source)
    click_id = await session.scalar(_INSERT_CLICK, row)
    assert click_id is not None
    return RecordedClick(int(click_id), bool(row["is_bot"])), owner


class ClickBuffer:
    """Clicks on web links, written in batches: one multi-row INSERT every `interval` (or as
    soon as `batch` are waiting) instead of a transaction per click, the one cost a redirect
    cannot otherwise avoid (docs/benchmarks.md).

    A clean shutdown flushes everything (serve() does it after the HTTP server has finished
    its requests); a crash loses at most the last interval's clicks. A failed write keeps the
    rows for the next attempt.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.05,
        batch: int = 1000,
    ) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self.batch = batch
        self._rows: list[dict[str, Any]] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.batch:
            self._full.set()

    @property
    def waiting(self) -> int:
        return len(self._rows)

    async def flush(self, session: AsyncSession | None = None) -> int:
        """Write what is waiting; returns the number of clicks written. With `session` (a
        request's, holding a connection already) they are written and committed in it, so
        that a burst of such requests never waits for a second connection each."""
        async with self._lock:
            rows, self._rows = self._rows, []
            self._full.clear()
            if not rows:
                return 0
            try:
                if session is not None:
                    await session.execute(insert(_CLICKS), rows)
                    await session.commit()
                else:
                    async with session_scope(self.session_factory) as own:
                        await own.execute(insert(_CLICKS), rows)
            except Exception:
                self._rows[:0] = rows  # keep them, in order, for the next attempt
                raise
            return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every `interval` until `stop` is set (the last flush is the caller's)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("writing %d clicks failed; retrying", self.waiting)
                await asyncio.sleep(1)


@dataclass(frozen=True, slots=True)
class ClickStats:
    clicks: int  # people, not bots
    unique_clicks: int  # distinct visitors per day
    bot_clicks: int


async def click_stats(*, session: AsyncSession, user_id: int) -> ClickStats:
    """Click figures of one referrer."""
    row = (
        await session.execute(
            select(
                func.count().filter(Click.is_bot.is_(False)),
                func.count(distinct(Click.visitor)).filter(Click.is_bot.is_(False)),
                func.count().filter(Click.is_bot.is_(True)),
            ).where(Click.referrer_id == user_id)
        )
    ).one()
    return ClickStats(int(row[0]), int(row[1]), int(row[2]))
