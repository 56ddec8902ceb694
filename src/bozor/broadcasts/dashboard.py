"""The broadcasts pages of the dashboard: every broadcast with its progress (admins', API's
and features' mass sends), composing one — text in Telegram's HTML, an optional photo, link
buttons, a segment, now or at a time — a preview of exactly what recipients get with their
count, a confirmation (sent twice, it still makes one broadcast), then its page with live
progress, Cancel, and every delivery as CSV. The same service functions as /broadcast in
Telegram and the admin API: the message is checked by the same rules, and sent by the same
engine at Telegram's limit."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import localtime, telegram_html
from bozor.broadcasts import segments, service
from bozor.broadcasts.exceptions import BroadcastFinishedError
from bozor.broadcasts.models import Broadcast, Delivery
from bozor.broadcasts.status import OPEN_STATES
from bozor.dashboard.web import (
    Admin,
    AdminDep,
    admin_name,
    checked_form,
    csv_pages,
    language_of,
    render,
    runtime_of,
)
from bozor.db import utcnow
from bozor.errors import InvalidInputError
from bozor.featurekit import Figure, Section
from bozor.i18n import Translator, catalogue
from bozor.users import service as users_service

BASE = "/dashboard/broadcasts"
PAGE = 100
CSV_PAGE = 1000
REFRESH_SECONDS = 3  # the page of a broadcast being sent reloads itself (no script needed)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
FIELDS = ("text", "photo", "buttons", "audience", "when")
LIST_COLUMNS = [
    "id", "state", "segment", "params", "source", "created_by", "created_at", "scheduled_at",
    "started_at", "finished_at", "total", "sent", "blocked", "failed", "unknown", "cancelled",
    "pending", "text",
]  # fmt: skip
DELIVERY_COLUMNS = [
    "delivery_id", "user_id", "recipient", "chat_id", "status", "attempts", "sent_at",
    "message_id", "error",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Draft:
    """A broadcast being composed: the form's fields and, once checked, what they mean."""

    fields: dict[str, str]
    content: service.Content
    segment: str
    params: dict[str, str]
    when: datetime | None


def _audience_value(name: str, params: Mapping[str, Any]) -> str:
    """A segment choice as a form value: "all", "language=ru"."""
    return name + "".join(f"={v}" for v in params.values())


def _audiences(t: Translator, available: Mapping[str, segments.Segment]) -> list[tuple[str, str]]:
    return [
        (_audience_value(name, params), segments.label(t, name, params))
        for name, params in segments.choices(available)
    ]


def _draft(fields: Mapping[str, str], available: Mapping[str, segments.Segment]) -> Draft:
    """The form, checked by the rules every broadcast obeys; InvalidInputError when wrong."""
    kept = {k: fields.get(k, "").replace("\r\n", "\n") for k in FIELDS}
    buttons = service.parse_buttons(kept["buttons"]) if kept["buttons"].strip() else []
    content = service.check_content(
        service.Content(kept["text"].strip(), kept["photo"].strip() or None, buttons)
    )
    picked = {_audience_value(n, p): (n, p) for n, p in segments.choices(available)}
    if kept["audience"] not in picked:
        raise InvalidInputError(
            "broadcast.unknown_segment",
            segment=kept["audience"][:64],
            known=", ".join(picked),
        )
    name, params = picked[kept["audience"]]
    when = service.parse_time(kept["when"]) if kept["when"].strip() else None
    service.check_schedule(when)
    return Draft(kept, content, name, params, when)


def _problem(t: Translator, exc: InvalidInputError) -> str:
    return t(exc.code, **exc.params)


def create_router() -> APIRouter:
    router = APIRouter(prefix="/broadcasts")

    @router.get("")
    async def listing_page(request: Request, admin: AdminDep) -> Response:
        """The latest broadcasts, newest first, each with its progress."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            found = await service.listing(session=session, limit=PAGE)
            progress = await service.progress_of(
                session=session, broadcast_ids=[b.id for b in found]
            )
        return render(
            request,
            "broadcasts/index.html",
            admin=admin,
            rows=[(b, progress[b.id], _who(t, b)) for b in found],
            label=lambda b: _label(t, b),
            excerpt=_excerpt,
        )

    @router.get("/broadcasts.csv")
    async def listing_csv(request: Request, admin: AdminDep) -> Response:
        return csv_pages(
            "broadcasts.csv", LIST_COLUMNS, _broadcast_pages(runtime_of(request).session_factory)
        )

    @router.get("/new")
    async def compose_page(request: Request, admin: AdminDep) -> Response:
        """An empty form: message, photo, buttons, audience, time."""
        return await _compose(request, admin, {})

    @router.post("/compose")
    async def compose_again(request: Request, admin: AdminDep) -> Response:
        """Back from the preview to the form, everything as it was typed."""
        return await _compose(request, admin, await checked_form(request, admin))

    @router.post("/preview")
    async def preview(request: Request, admin: AdminDep) -> Response:
        """What every recipient will get, how many they are, and the confirmation."""
        fields = await checked_form(request, admin)
        t = Translator(language_of(request))
        runtime = runtime_of(request)
        available = runtime.broadcasts.segments
        try:
            draft = _draft(fields, available)
        except InvalidInputError as exc:
            return await _compose(request, admin, fields, error=_problem(t, exc))
        async with runtime.session_factory() as session:
            count = await service.count_recipients(
                session=session,
                available=available,
                segment=draft.segment,
                params=draft.params,
                default_language=runtime.settings.default_language,
            )
        return render(
            request,
            "broadcasts/preview.html",
            admin=admin,
            fields=draft.fields,
            content=draft.content,
            message=telegram_html.to_web(draft.content.text),
            audience=segments.label(t, draft.segment, draft.params),
            count=count,
            when=draft.when,
            draft_key=secrets.token_urlsafe(24),
        )

    @router.post("")
    async def create(request: Request, admin: AdminDep) -> Response:
        """Confirmed: saved, and sent now or at its time by the broadcast engine."""
        fields = await checked_form(request, admin)
        t = Translator(language_of(request))
        runtime = runtime_of(request)
        available = runtime.broadcasts.segments
        key = fields.get("draft", "").strip()[:64] or None
        try:
            draft = _draft(fields, available)
            async with runtime.session_factory() as session:
                broadcast = await service.create(
                    session=session,
                    available=available,
                    content=draft.content,
                    segment=draft.segment,
                    params=draft.params,
                    scheduled_at=draft.when,
                    created_by_name=await admin_name(session, admin),
                    source="dashboard",
                    status_language=t.language,
                    draft_key=key,
                )
                await session.commit()
                broadcast_id = broadcast.id
        except InvalidInputError as exc:
            return await _compose(request, admin, fields, error=_problem(t, exc))
        return RedirectResponse(f"{BASE}/{broadcast_id}?result=created", status_code=303)

    @router.get("/{broadcast_id}")
    async def detail_page(
        request: Request, admin: AdminDep, broadcast_id: Id, result: str | None = None
    ) -> Response:
        """A broadcast: its message, audience, progress (reloading while it is sent), Cancel,
        and the deliveries that did not arrive."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            broadcast = await service.get(session=session, broadcast_id=broadcast_id)
            progress = await service.progress(session=session, broadcast_id=broadcast_id)
            problems = await service.deliveries(
                session=session, broadcast_id=broadcast_id, limit=PAGE, problems_only=True
            )
            names = await users_service.display_names(
                session=session, user_ids=[d.user_id for d in problems]
            )
        notices = {
            "created": (t("dashboard.broadcasts.created", id=broadcast_id), True),
            "cancelled": (t("broadcast.cancelled"), True),
            "finished": (t("broadcast.finished", id=broadcast_id), False),
        }
        return render(
            request,
            "broadcasts/detail.html",
            admin=admin,
            broadcast=broadcast,
            content=service.Content.of(broadcast),
            message=telegram_html.to_web(broadcast.text),
            audience=_label(t, broadcast),
            who=_who(t, broadcast),
            progress=progress,
            done=progress.total - progress.waiting,
            percent=round(100 * (progress.total - progress.waiting) / progress.total)
            if progress.total
            else (100 if broadcast.state not in OPEN_STATES else 0),
            is_open=broadcast.state in OPEN_STATES,
            refresh=REFRESH_SECONDS,
            problems=[_problem_row(t, d, names) for d in problems],
            notice=notices.get(result or ""),
        )

    @router.get("/{broadcast_id}/deliveries.csv")
    async def deliveries_csv(request: Request, admin: AdminDep, broadcast_id: Id) -> Response:
        """Every delivery of the broadcast, in order."""
        return csv_pages(
            f"broadcast-{broadcast_id}-deliveries.csv",
            DELIVERY_COLUMNS,
            _delivery_pages(runtime_of(request).session_factory, broadcast_id),
        )

    @router.post("/{broadcast_id}/cancel")
    async def cancel(request: Request, admin: AdminDep, broadcast_id: Id) -> Response:
        """Stop it, as the Cancel button in Telegram does: nobody else receives it."""
        await checked_form(request, admin)
        async with runtime_of(request).session_factory() as session:
            try:
                await service.cancel(session=session, broadcast_id=broadcast_id)
                await session.commit()
                result = "cancelled"
            except BroadcastFinishedError:
                result = "finished"
        return RedirectResponse(f"{BASE}/{broadcast_id}?result={result}", status_code=303)

    return router


async def _compose(
    request: Request, admin: Admin, fields: Mapping[str, str], *, error: str | None = None
) -> Response:
    t = Translator(language_of(request))
    available = runtime_of(request).broadcasts.segments
    return render(
        request,
        "broadcasts/compose.html",
        admin=admin,
        status=422 if error else 200,
        fields={k: fields.get(k, "") for k in FIELDS},
        audiences=_audiences(t, available),
        error=error,
        earliest=utcnow().astimezone(localtime.zone()).strftime("%Y-%m-%dT%H:%M"),
    )


def _problem_row(t: Translator, delivery: Delivery, names: Mapping[int, str]) -> list[Any]:
    return [
        delivery.id,
        names.get(delivery.user_id, f"#{delivery.user_id}"),
        delivery.chat_id,
        t(f"dashboard.broadcasts.status.{delivery.status}"),
        delivery.attempts,
        delivery.error or "",
    ]


def _label(t: Translator, broadcast: Broadcast) -> str:
    return segments.label(t, broadcast.segment, broadcast.segment_params)


def _who(t: Translator, broadcast: Broadcast) -> str:
    """Who sent it: the dashboard admin, the admin in Telegram, the API, or a feature."""
    if broadcast.created_by_name:
        return broadcast.created_by_name
    if broadcast.created_by is not None:
        return t("dashboard.broadcasts.by_telegram", id=broadcast.created_by)
    # Who made it: the core's sources and the features' have a name in the catalogues.
    key = f"dashboard.broadcasts.source.{broadcast.source}"
    return t(key) if key in catalogue(t.language) else broadcast.source


def _excerpt(text: str, limit: int = 80) -> str:
    plain = " ".join(telegram_html.plain(text).split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


async def _broadcast_pages(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Every broadcast with its counts, newest first, a page at a time."""
    t = Translator("en")
    before: int | None = None
    async with factory() as session:
        while found := await service.listing(session=session, limit=CSV_PAGE, before_id=before):
            progress = await service.progress_of(
                session=session, broadcast_ids=[b.id for b in found]
            )
            yield [
                (b.id, b.state, b.segment,
                 " ".join(f"{k}={v}" for k, v in b.segment_params.items()),
                 b.source, _who(t, b), b.created_at, b.scheduled_at, b.started_at,
                 b.finished_at, p.total, p["sent"], p["blocked"], p["failed"],
                 p["unknown"], p["cancelled"], p.waiting, b.text)
                for b in found
                for p in (progress[b.id],)
            ]  # fmt: skip
            before = found[-1].id


async def _delivery_pages(
    factory: async_sessionmaker[AsyncSession], broadcast_id: int
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """A broadcast's deliveries in order, with their recipients' names, a page at a time."""
    after: int | None = None
    async with factory() as session:
        while found := await service.deliveries(
            session=session, broadcast_id=broadcast_id, limit=CSV_PAGE, after_id=after
        ):
            names = await users_service.display_names(
                session=session, user_ids=[d.user_id for d in found]
            )
            yield [
                (d.id, d.user_id, names.get(d.user_id), d.chat_id, d.status, d.attempts,
                 d.sent_at, d.message_id, d.error)
                for d in found
            ]  # fmt: skip
            after = found[-1].id


async def figures(session: AsyncSession) -> list[Figure]:
    """Broadcasts scheduled or being sent, and how many were made in the last 30 days."""
    month = await service.created_since(session=session, since=utcnow() - timedelta(days=30))
    return [
        ("dashboard.broadcasts.open", str(await service.open_count(session=session)), BASE),
        ("dashboard.broadcasts.month", str(month), BASE),
    ]


SECTION = Section(
    "broadcasts", "dashboard.broadcasts.nav", create_router, feature=None, figures=figures
)
