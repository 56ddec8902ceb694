"""Admin routes of the prize draws: lotteries, their audit log, fairness verification and
the three reports (JSON or CSV)."""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from bozor import csv_export
from bozor.api.auth import AdminDep, SessionDep
from bozor.api.problems import responses
from bozor.lotteries import audit, draws, reports, service, wins
from bozor.lotteries.models import Lottery, LotteryState, Participation
from bozor.lotteries.schemas import (
    AuditRead,
    FairnessRead,
    LotteryDetail,
    LotteryRead,
    PlaceRead,
    ReportRead,
    VerificationRead,
    WinnerCheck,
    WinnerRead,
)

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin: lotteries"], responses=responses(401, 403, 429)
)
LotteryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/lotteries/{lottery_id}/verification", responses=responses(404, 409))
async def get_verification(
    lottery_id: LotteryId, session: SessionDep, _: AdminDep
) -> VerificationRead:
    """Recompute a drawn lottery's winners from its published data (seed, participant list,
    external value) and compare them, and the published hashes, with what was recorded.
    409 while the lottery is not drawn. For admins: the participant list is not public."""
    report = await draws.verify(session=session, lottery_id=lottery_id)
    lottery = await service.get(session=session, lottery_id=lottery_id)
    keys = sorted(report.expected.keys() | report.recorded.keys())
    return VerificationRead(
        lottery_id=lottery.id,
        ok=report.ok,
        seed=lottery.seed,
        seed_hash=lottery.seed_hash,
        seed_hash_ok=report.seed_hash_ok,
        external_name=lottery.external_name,
        external_value=lottery.external_value,
        participants_count=lottery.participants_count,
        participants_hash=lottery.participants_hash,
        participants_hash_recomputed=report.participants_hash,
        participants_hash_ok=report.participants_hash_ok,
        winners_ok=report.winners_ok,
        winners=[
            WinnerCheck(
                round=round_,
                place=place,
                recorded=report.recorded.get((round_, place)),
                recomputed=report.expected.get((round_, place)),
                matches=report.recorded.get((round_, place))
                == report.expected.get((round_, place)),
            )
            for round_, place in keys
        ],
        problems=report.problems + report.differences(),
    )


@router.get("/lotteries")
async def list_lotteries(
    session: SessionDep,
    _: AdminDep,
    state: Annotated[
        LotteryState | None, Query(description="Only lotteries in this state.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LotteryRead]:
    """The latest lotteries, newest first, with their state and number of participants."""
    rows = await service.listing(session=session, state=state, limit=limit)
    return [_lottery_read(row.lottery, row.participants) for row in rows]


def _lottery_read(lottery: Lottery, participants: int) -> LotteryRead:
    return LotteryRead(
        id=lottery.id,
        title=lottery.title,
        state=lottery.state,
        created_at=lottery.created_at,
        draw_at=lottery.draw_at,
        drawn_at=lottery.drawn_at,
        seed_hash=lottery.seed_hash,
        external_name=lottery.external_name,
        participants=participants,
    )


@router.get("/lotteries/{lottery_id}", responses=responses(404))
async def get_lottery(lottery_id: LotteryId, session: SessionDep, _: AdminDep) -> LotteryDetail:
    """A lottery: its places and prizes, every win with its status, and its fairness data
    (the seed only once drawn)."""
    lottery = await service.get(session=session, lottery_id=lottery_id)
    participants = await session.scalar(
        select(func.count()).where(Participation.lottery_id == lottery_id)
    )
    prizes = await service.prizes(session=session, lottery_id=lottery_id)
    won = await wins.places(session=session, lottery_id=lottery_id, include_redrawn=True)
    drawn = lottery.state == LotteryState.DRAWN
    return LotteryDetail(
        **_lottery_read(lottery, participants or 0).model_dump(),
        places=[PlaceRead(place=place, prize=prize) for place, prize in prizes.items()],
        winners=[
            WinnerRead(
                win_id=w.win_id,
                place=w.place,
                round=w.round,
                account=w.number,
                club_card=w.club_card,
                status=w.status,
                deadline_at=w.deadline_at,
                owner_telegram_id=w.owner_telegram_id,
            )
            for w in won
        ],
        fairness=FairnessRead(
            seed_hash=lottery.seed_hash,
            seed=lottery.seed if drawn else None,
            external_name=lottery.external_name,
            external_value=lottery.external_value,
            participants_count=lottery.participants_count,
            participants_hash=lottery.participants_hash,
        ),
    )


@router.get("/lotteries/{lottery_id}/audit", responses=responses(404))
async def get_lottery_audit(
    lottery_id: LotteryId,
    session: SessionDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """The lottery's audit log, newest first: creation, draw, each win's creation,
    notification, confirmation (by button or admin), expiry, redraw, hand-over; imports."""
    await service.get(session=session, lottery_id=lottery_id)
    return [
        AuditRead(
            id=entry.id,
            created_at=entry.created_at,
            action=entry.action,
            actor=entry.actor,
            lottery_id=entry.lottery_id,
            win_id=entry.win_id,
            detail=entry.detail,
        )
        for entry in await audit.entries(session=session, lottery_id=lottery_id, limit=limit)
    ]


class ReportName(StrEnum):
    WINS_BY_CARD = "wins_by_card"
    PARTICIPATIONS = "participations"
    UNCLAIMED = "unclaimed"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@router.get(
    "/lottery-reports/{report}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {"schema": ReportRead.model_json_schema()},
                "text/csv": {},
            },
            "description": "The report: JSON (columns and rows), or CSV with `format=csv`.",
        }
    },
)
async def get_report(
    report: ReportName,
    session: SessionDep,
    _: AdminDep,
    format: Annotated[ReportFormat, Query(description="json or csv.")] = ReportFormat.JSON,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
) -> Response:
    """The reference's three reports: `wins_by_card` (wins and claimed wins per club card),
    `participations` (accounts by number of participations), `unclaimed` (wins not confirmed
    24 hours after they were drawn). The same queries as the bot's `/lottery_report`."""
    columns, rows = await reports.REPORTS[report.value](session=session, limit=limit)
    if format == ReportFormat.CSV:
        buffer = io.StringIO()
        writer = csv_export.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{report.value}.csv"'},
        )
    body = ReportRead(report=report.value, columns=columns, rows=[list(row) for row in rows])
    return JSONResponse(body.model_dump(mode="json"))
