"""Admin routes of broadcasts, for the dashboard: preview, create, list, progress, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.api.auth import AdminDep, SessionDep
from bozor.api.deps import SettingsDep, runtime_of
from bozor.api.problems import responses
from bozor.broadcasts import service
from bozor.broadcasts.models import Broadcast
from bozor.broadcasts.schemas import (
    AudienceIn,
    BroadcastCreate,
    BroadcastRead,
    ButtonIn,
    PreviewRead,
    ProgressRead,
    SegmentRead,
)
from bozor.broadcasts.segments import Segment

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin: broadcasts"], responses=responses(401, 403, 429)
)
BroadcastId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _segments(request: Request) -> dict[str, Segment]:
    return dict(runtime_of(request).broadcasts.segments)


@router.get("/broadcast-segments")
async def list_segments(request: Request, _: AdminDep) -> list[SegmentRead]:
    """The segments a broadcast can target (those of the enabled features included)."""
    return [
        SegmentRead(name=s.name, params={k: list(v) for k, v in s.params.items()})
        for s in _segments(request).values()
    ]


@router.post("/broadcasts/preview", responses=responses(422))
async def preview(
    body: AudienceIn, request: Request, settings: SettingsDep, session: SessionDep, _: AdminDep
) -> PreviewRead:
    """Dry run: how many users a broadcast to this segment would reach now; nothing is saved."""
    count = await service.count_recipients(
        session=session,
        available=_segments(request),
        segment=body.segment,
        params=body.params,
        default_language=settings.default_language,
    )
    return PreviewRead(segment=body.segment, params=body.params, recipients=count)


@router.post("/broadcasts", status_code=201, responses=responses(422))
async def create_broadcast(
    body: BroadcastCreate, request: Request, session: SessionDep, _: AdminDep
) -> BroadcastRead:
    """Create a broadcast: sent at `scheduled_at`, or now. Its recipients are listed when it
    starts; follow its progress with GET /broadcasts/{id}."""
    content = service.Content(
        body.text,
        body.photo,
        [[service.Button(b.text, b.url) for b in row] for row in body.buttons],
    )
    broadcast = await service.create(
        session=session,
        available=_segments(request),
        content=content,
        segment=body.segment,
        params=body.params,
        scheduled_at=body.scheduled_at,
        source="api",
    )
    await session.commit()
    return await _read(session, broadcast)


@router.get("/broadcasts")
async def list_broadcasts(
    session: SessionDep, _: AdminDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[BroadcastRead]:
    """The latest broadcasts, newest first, with their progress."""
    return [await _read(session, b) for b in await service.listing(session=session, limit=limit)]


@router.get("/broadcasts/{broadcast_id}", responses=responses(404))
async def get_broadcast(
    broadcast_id: BroadcastId, session: SessionDep, _: AdminDep
) -> BroadcastRead:
    """A broadcast and its live progress: deliveries by status."""
    return await _read(session, await service.get(session=session, broadcast_id=broadcast_id))


@router.post("/broadcasts/{broadcast_id}/cancel", responses=responses(404, 409))
async def cancel_broadcast(
    broadcast_id: BroadcastId, session: SessionDep, _: AdminDep
) -> BroadcastRead:
    """Stop a scheduled or running broadcast; 409 when it is over already."""
    broadcast = await service.cancel(session=session, broadcast_id=broadcast_id)
    await session.commit()
    return await _read(session, broadcast)


async def _read(session: AsyncSession, broadcast: Broadcast) -> BroadcastRead:
    progress = await service.progress(session=session, broadcast_id=broadcast.id)
    return BroadcastRead(
        id=broadcast.id,
        state=broadcast.state,
        text=broadcast.text,
        photo=broadcast.photo,
        buttons=[[ButtonIn(**b) for b in row] for row in broadcast.buttons],
        segment=broadcast.segment,
        params={str(k): str(v) for k, v in broadcast.segment_params.items()},
        source=broadcast.source,
        created_at=broadcast.created_at,
        scheduled_at=broadcast.scheduled_at,
        started_at=broadcast.started_at,
        finished_at=broadcast.finished_at,
        progress=ProgressRead(total=progress.total, **progress.counts),
    )
