"""Broadcast rules: what a message may hold, who receives it, when, and its progress.

Other features send a message to many users through `enqueue` (an explicit list of users),
in their own transaction: the deliveries are rows like any broadcast's, sent by the same
engine at Telegram's limit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime, telegram_html
from bozor.broadcasts import segments as segments_module
from bozor.broadcasts.exceptions import BroadcastFinishedError, BroadcastNotFoundError
from bozor.broadcasts.models import Broadcast, BroadcastState, Delivery, DeliveryStatus
from bozor.broadcasts.segments import Segment
from bozor.db import utcnow
from bozor.errors import InvalidInputError
from bozor.users.models import User

TEXT_LIMIT = 4096  # Telegram's, for a message's text
CAPTION_LIMIT = 1024  # and for a photo's caption
BUTTON_TEXT_LIMIT = 64
MAX_BUTTONS = 100
MAX_ROW = 8
SCHEDULE_SKEW = timedelta(minutes=1)  # "now" typed a few seconds late is still accepted
SCHEDULE_HORIZON = timedelta(days=366)
EXPLICIT = "users"  # the segment name of a broadcast to a list of users
_TAG = re.compile(r"<[^>]*>")
_URL = re.compile(r"^(https?://[^\s/]+\S*|tg://\S+)$")
_PHOTO_URL = re.compile(r"^https://[^\s/]+\S*$")
_FILE_ID = re.compile(r"^[A-Za-z0-9_-]{20,255}$")  # Telegram's file ids are base64url


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Content:
    """What every recipient sees: HTML text (a caption, with a photo) and URL buttons."""

    text: str
    photo: str | None = None
    buttons: Sequence[Sequence[Button]] = field(default_factory=tuple)

    def buttons_json(self) -> list[list[dict[str, str]]]:
        return [[{"text": b.text, "url": b.url} for b in row] for row in self.buttons]

    @classmethod
    def of(cls, broadcast: Broadcast) -> Content:
        rows = [[Button(b["text"], b["url"]) for b in row] for row in broadcast.buttons]
        return cls(broadcast.text, broadcast.photo, rows)


def visible_length(text: str) -> int:
    """Characters Telegram counts: the text without its HTML tags, entities decoded."""
    return len(html.unescape(_TAG.sub("", text)))


def check_content(content: Content) -> Content:
    """The message, checked against Telegram's limits and HTML; InvalidInputError says what
    is wrong."""
    try:
        telegram_html.parse(content.text)
    except telegram_html.HtmlError as exc:
        raise InvalidInputError(f"broadcast.html_{exc.kind}", **exc.params) from None
    length = visible_length(content.text)
    if not html.unescape(_TAG.sub("", content.text)).strip() and content.photo is None:
        raise InvalidInputError("broadcast.empty")
    limit = CAPTION_LIMIT if content.photo else TEXT_LIMIT
    if length > limit:
        raise InvalidInputError("broadcast.too_long", length=length, limit=limit)
    if content.photo is not None and not (
        _PHOTO_URL.match(content.photo) or _FILE_ID.match(content.photo)
    ):
        raise InvalidInputError("broadcast.bad_photo")
    count = sum(len(row) for row in content.buttons)
    if count > MAX_BUTTONS or any(len(row) > MAX_ROW for row in content.buttons):
        raise InvalidInputError("broadcast.too_many_buttons", limit=MAX_BUTTONS, row=MAX_ROW)
    for row in content.buttons:
        for button in row:
            check_button(button)
    return content


def check_button(button: Button) -> None:
    if not button.text.strip() or len(button.text) > BUTTON_TEXT_LIMIT:
        raise InvalidInputError("broadcast.bad_button_text", limit=BUTTON_TEXT_LIMIT)
    if not _URL.match(button.url):
        raise InvalidInputError("broadcast.bad_button_url", url=button.url[:100])


def parse_buttons(text: str) -> list[list[Button]]:
    """Buttons typed in a message: one row per line, `Text - https://url`, buttons of a row
    separated by `|`."""
    rows: list[list[Button]] = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        if not line.strip():
            continue
        row = []
        for part in line.split("|"):
            label, sep, url = part.strip().rpartition(" - ")
            if not sep or not label.strip():
                raise InvalidInputError("broadcast.bad_button_line", line=number)
            button = Button(label.strip(), url.strip())
            check_button(button)
            row.append(button)
        rows.append(row)
    if not rows:
        raise InvalidInputError("broadcast.bad_button_line", line=1)
    return rows


def parse_time(text: str) -> datetime:
    """`YYYY-MM-DD HH:MM` (or a browser's `YYYY-MM-DDTHH:MM`) in the community's zone, as UTC."""
    try:
        return localtime.parse(text)
    except ValueError:
        raise InvalidInputError("broadcast.bad_time", zone=localtime.zone_name()) from None


def check_schedule(when: datetime | None) -> datetime:
    """When a broadcast goes out: now when None; InvalidInputError when past or too far."""
    now = utcnow()
    if when is None:
        return now
    if when < now - SCHEDULE_SKEW:
        raise InvalidInputError("broadcast.in_the_past", zone=localtime.zone_name())
    if when > now + SCHEDULE_HORIZON:
        raise InvalidInputError("broadcast.too_far")
    return when


def segment_query(
    available: Mapping[str, Segment],
    name: str,
    params: Mapping[str, Any],
    *,
    default_language: str = "en",
) -> Any:
    """The SELECT of user ids of a segment, its parameters checked."""
    checked = segments_module.check(available, name, params)
    return available[name].query({**checked, "default": default_language})


async def count_recipients(
    *,
    session: AsyncSession,
    available: Mapping[str, Segment],
    segment: str,
    params: Mapping[str, Any],
    default_language: str = "en",
) -> int:
    """How many users a broadcast to this segment would reach now (blocked users excluded)."""
    query = segment_query(available, segment, params, default_language=default_language)
    return await segments_module.count(session=session, query=query)


async def create(
    *,
    session: AsyncSession,
    available: Mapping[str, Segment],
    content: Content,
    segment: str,
    params: Mapping[str, Any] | None = None,
    scheduled_at: datetime | None = None,
    created_by: int | None = None,
    created_by_name: str | None = None,
    source: str = "admin",
    status_chat_id: int | None = None,
    status_language: str = "en",
    draft_key: str | None = None,
) -> Broadcast:
    """A broadcast to a segment, sent at `scheduled_at` (now when None). Its recipients are
    listed when it starts, so users who arrive meanwhile receive it too. With a `draft_key`
    (one per confirmation form), a confirmation sent twice makes one broadcast: the second
    gets the first's."""
    check_content(content)
    checked = segments_module.check(available, segment, params or {})
    when = check_schedule(scheduled_at)
    if draft_key is not None and (earlier := await by_draft(session=session, key=draft_key)):
        return earlier
    broadcast = Broadcast(
        text=content.text,
        photo=content.photo,
        buttons=content.buttons_json(),
        segment=segment,
        segment_params=checked,
        state=BroadcastState.SCHEDULED,
        scheduled_at=when,
        created_by=created_by,
        created_by_name=created_by_name,
        source=source,
        status_chat_id=status_chat_id,
        status_language=status_language,
        status_final=False,
        draft_key=draft_key,
        created_at=utcnow(),
    )
    if draft_key is None:
        session.add(broadcast)
        await session.flush()
        return broadcast
    try:
        async with session.begin_nested():
            session.add(broadcast)
            await session.flush()
    except IntegrityError:
        earlier = await by_draft(session=session, key=draft_key)
        if earlier is None:
            raise
        return earlier  # the same confirmation, sent at the same moment
    return broadcast


async def by_draft(*, session: AsyncSession, key: str) -> Broadcast | None:
    """The broadcast a confirmation form made, if it was sent already."""
    return await session.scalar(select(Broadcast).where(Broadcast.draft_key == key))


async def enqueue(
    *,
    session: AsyncSession,
    user_ids: Sequence[int],
    content: Content,
    source: str,
) -> Broadcast:
    """Send one message to these users (ids of `users`), in the caller's transaction: for
    features' mass sends (lottery results, shop notices). Users who blocked the bot, were
    banned or have no Telegram account are left out; a user listed twice gets it once."""
    check_content(content)
    now = utcnow()
    broadcast = Broadcast(
        text=content.text,
        photo=content.photo,
        buttons=content.buttons_json(),
        segment=EXPLICIT,
        segment_params={},
        state=BroadcastState.RUNNING,
        scheduled_at=now,
        started_at=now,
        source=source,
        status_final=False,
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 10_000):  # bounded parameter lists
        chunk = ids[start : start + 10_000]
        await _insert_deliveries(
            session,
            broadcast.id,
            segments_module.recipients(select(User.id).where(User.id.in_(chunk))),
        )
    return broadcast


async def _insert_deliveries(session: AsyncSession, broadcast_id: int, query: Any) -> None:
    """One pending delivery per recipient, in one INSERT ... SELECT."""
    rows = query.subquery()
    await session.execute(
        insert(Delivery).from_select(
            ["broadcast_id", "user_id", "chat_id", "status", "attempts"],
            select(
                literal(broadcast_id),
                rows.c.id,
                rows.c.telegram_id,
                literal(DeliveryStatus.PENDING.value),
                literal(0),
            ),
        )
    )


async def start_due(
    *, session: AsyncSession, available: Mapping[str, Segment], default_language: str = "en"
) -> list[int]:
    """Start the broadcasts whose time has come: list their recipients (one delivery each).
    A conditional UPDATE claims each, so on several instances one lists it. Returns their ids."""
    now = utcnow()
    due = list(
        await session.scalars(
            select(Broadcast.id)
            .where(Broadcast.state == BroadcastState.SCHEDULED, Broadcast.scheduled_at <= now)
            .order_by(Broadcast.scheduled_at)
            .limit(10)
        )
    )
    started = []
    for broadcast_id in due:
        claimed = await session.scalar(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.SCHEDULED)
            .values(state=BroadcastState.RUNNING, started_at=now)
            .returning(Broadcast)
        )
        if claimed is None:
            continue
        try:
            query = segment_query(
                available,
                claimed.segment,
                claimed.segment_params,
                default_language=default_language,
            )
        except InvalidInputError:  # a feature switched off since: nobody to send to
            query = select(User.id).where(literal(False))
        await _insert_deliveries(session, claimed.id, segments_module.recipients(query))
        started.append(claimed.id)
    return started


async def anything_open(*, session: AsyncSession) -> bool:
    """Whether a broadcast is scheduled, running, or has a status message still to finish."""
    found = await session.scalar(
        select(Broadcast.id)
        .where(
            Broadcast.state.in_([BroadcastState.SCHEDULED, BroadcastState.RUNNING])
            | (Broadcast.status_message_id.is_not(None) & Broadcast.status_final.is_(False))
        )
        .limit(1)
    )
    return found is not None


async def finish_done(*, session: AsyncSession) -> list[int]:
    """Mark running broadcasts with nothing left to send as done; their ids."""
    open_rows = exists().where(
        and_(
            Delivery.broadcast_id == Broadcast.id,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
    )
    done = await session.scalars(
        update(Broadcast)
        .where(Broadcast.state == BroadcastState.RUNNING, ~open_rows)
        .values(state=BroadcastState.DONE, finished_at=utcnow())
        .returning(Broadcast.id)
    )
    return list(done)


async def get(*, session: AsyncSession, broadcast_id: int) -> Broadcast:
    """The broadcast, or BroadcastNotFoundError."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFoundError(id=broadcast_id)
    return broadcast


async def listing(
    *, session: AsyncSession, limit: int = 50, before_id: int | None = None
) -> list[Broadcast]:
    """The latest broadcasts, newest first (those older than `before_id`, to page on)."""
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Broadcast.id < before_id)
    return list(await session.scalars(query))


async def deliveries(
    *,
    session: AsyncSession,
    broadcast_id: int,
    limit: int = 100,
    after_id: int | None = None,
    problems_only: bool = False,
) -> list[Delivery]:
    """A broadcast's deliveries in order (page on with `after_id`); `problems_only`: those
    blocked, failed or of unknown outcome."""
    query = (
        select(Delivery)
        .where(Delivery.broadcast_id == broadcast_id)
        .order_by(Delivery.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(Delivery.id > after_id)
    if problems_only:
        query = query.where(
            Delivery.status.in_(
                [DeliveryStatus.BLOCKED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN]
            )
        )
    return list(await session.scalars(query))


async def cancel(*, session: AsyncSession, broadcast_id: int) -> Broadcast:
    """Stop a scheduled or running broadcast: what is not sent yet never will be (messages
    already handed to Telegram arrive). BroadcastFinishedError if it was over."""
    broadcast = await get(session=session, broadcast_id=broadcast_id)
    cancelled = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.state.in_([BroadcastState.SCHEDULED, BroadcastState.RUNNING]),
        )
        .values(state=BroadcastState.CANCELLED, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cancelled.rowcount == 0:  # type: ignore[attr-defined]
        raise BroadcastFinishedError(id=broadcast_id)
    await session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, locked_until=None)
    )
    await session.refresh(broadcast)
    return broadcast


async def cancel_leftovers(*, session: AsyncSession) -> None:
    """Pending rows of cancelled broadcasts (a call in flight at the cancel that must be
    retried) are cancelled too."""
    cancelled = select(Broadcast.id).where(Broadcast.state == BroadcastState.CANCELLED)
    await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.broadcast_id.in_(cancelled))
        .values(status=DeliveryStatus.CANCELLED, locked_until=None)
    )


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    counts: dict[str, int]

    @property
    def waiting(self) -> int:
        return self.counts.get(DeliveryStatus.PENDING, 0) + self.counts.get(
            DeliveryStatus.SENDING, 0
        )

    def __getitem__(self, status: str) -> int:
        return self.counts.get(status, 0)


async def progress(*, session: AsyncSession, broadcast_id: int) -> Progress:
    """Deliveries of the broadcast by status (counted, never stored)."""
    return (await progress_of(session=session, broadcast_ids=[broadcast_id]))[broadcast_id]


async def progress_of(
    *, session: AsyncSession, broadcast_ids: Sequence[int]
) -> dict[int, Progress]:
    """The progress of several broadcasts, in one query."""
    counts: dict[int, dict[str, int]] = {
        i: {s.value: 0 for s in DeliveryStatus} for i in broadcast_ids
    }
    if broadcast_ids:
        rows = await session.execute(
            select(Delivery.broadcast_id, Delivery.status, func.count())
            .where(Delivery.broadcast_id.in_(broadcast_ids))
            .group_by(Delivery.broadcast_id, Delivery.status)
        )
        for broadcast_id, status, n in rows.all():
            counts[broadcast_id][str(status)] = int(n)
    return {i: Progress(sum(c.values()), c) for i, c in counts.items()}


async def open_count(*, session: AsyncSession) -> int:
    """Broadcasts scheduled or being sent."""
    found = await session.scalar(
        select(func.count())
        .select_from(Broadcast)
        .where(Broadcast.state.in_([BroadcastState.SCHEDULED, BroadcastState.RUNNING]))
    )
    return int(found or 0)


async def created_since(*, session: AsyncSession, since: datetime) -> int:
    """Broadcasts created since then (features' mass sends included)."""
    found = await session.scalar(
        select(func.count()).select_from(Broadcast).where(Broadcast.created_at >= since)
    )
    return int(found or 0)
