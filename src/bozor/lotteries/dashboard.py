"""The prize-draw pages of the dashboard: lotteries with their state, a lottery's places,
winners, fairness data (checked by recomputing the draw) and audit log, and the three
reports; every table with CSV. Reads through the lottery services, as the admin API does."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.audit.render import action_label
from bozor.dashboard.web import AdminDep, csv_response, language_of, render, runtime_of
from bozor.db import utcnow
from bozor.featurekit import Figure, Section
from bozor.i18n import Translator
from bozor.lotteries import audit, draws, reports, service, wins
from bozor.lotteries.models import Lottery, LotteryState, Participation, Win, WinStatus
from bozor.lotteries.texts import audit_detail

LIST_COLUMNS = ["id", "title", "state", "participants", "draw_at", "drawn_at", "seed_hash"]
WINNER_COLUMNS = [
    "place",
    "round",
    "prize",
    "account",
    "club_card",
    "owner",
    "status",
    "deadline_at",
]
AUDIT_COLUMNS = ["id", "created_at", "action", "actor", "win_id", "detail"]


def create_router() -> APIRouter:
    router = APIRouter(prefix="/lotteries")

    @router.get("")
    async def page(request: Request, admin: AdminDep) -> Response:
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            rows = await service.listing(session=session, limit=200)
            report_tables = {
                name: _readable(t, *await build(session=session, limit=20))
                for name, build in reports.REPORTS.items()
            }
        return render(
            request,
            "lotteries/index.html",
            admin=admin,
            lotteries=rows,
            reports=report_tables,
            state_label=lambda state: t(f"lottery.state.{state}"),
        )

    @router.get("/lotteries.csv")
    async def lotteries_csv(request: Request, admin: AdminDep) -> Response:
        async with runtime_of(request).session_factory() as session:
            rows = await service.listing(session=session, limit=10_000)
        return csv_response(
            "lotteries.csv",
            LIST_COLUMNS,
            [
                (r.lottery.id, r.lottery.title, r.lottery.state, r.participants,
                 r.lottery.draw_at, r.lottery.drawn_at, r.lottery.seed_hash)
                for r in rows
            ],
        )  # fmt: skip

    @router.get("/reports/{name}.csv")
    async def report_csv(request: Request, admin: AdminDep, name: str) -> Response:
        """The same reports as the bot's /lottery_report and the admin API."""
        build = reports.REPORTS.get(name)
        if build is None:
            return Response("unknown report", status_code=404)
        async with runtime_of(request).session_factory() as session:
            columns, rows = await build(session=session)
        return csv_response(f"{name}.csv", columns, rows)

    @router.get("/{lottery_id}")
    async def detail(request: Request, admin: AdminDep, lottery_id: int) -> Response:
        async with runtime_of(request).session_factory() as session:
            data = await _detail(session, lottery_id)
        t = Translator(language_of(request))
        return render(
            request,
            "lotteries/detail.html",
            admin=admin,
            state_label=t(f"lottery.state.{data['lottery'].state}"),
            status_label=lambda status: t(f"lottery.status.{status}"),
            audit_table=[
                (
                    localtime.show(e.created_at, seconds=True),
                    action_label(t, e.action),
                    e.actor if e.actor is not None else t("dashboard.lotteries.system"),
                    audit_detail(
                        t,
                        {**e.detail, **({"win_id": e.win_id} if e.win_id else {})},
                        hide=frozenset(),
                    ),
                )
                for e in data["audit"]
            ],
            audit_log=f"/dashboard/audit?area={audit.AREA}&target={audit.target(lottery_id)}",
            **data,
        )

    @router.get("/{lottery_id}/winners.csv")
    async def winners_csv(request: Request, admin: AdminDep, lottery_id: int) -> Response:
        async with runtime_of(request).session_factory() as session:
            data = await _detail(session, lottery_id, verify=False)
        return csv_response(
            f"lottery-{lottery_id}-winners.csv",
            WINNER_COLUMNS,
            [
                (w.place, w.round, data["prizes"].get(w.place, ""), w.number, w.club_card,
                 w.owner_telegram_id, w.status, w.deadline_at)
                for w in data["winners"]
            ],
        )  # fmt: skip

    @router.get("/{lottery_id}/audit.csv")
    async def audit_csv(request: Request, admin: AdminDep, lottery_id: int) -> Response:
        async with runtime_of(request).session_factory() as session:
            await service.get(session=session, lottery_id=lottery_id)
            entries = await audit.entries(session=session, lottery_id=lottery_id, limit=100_000)
        return csv_response(
            f"lottery-{lottery_id}-audit.csv",
            AUDIT_COLUMNS,
            [
                (e.id, e.created_at, e.action, e.actor, e.win_id, json.dumps(e.detail))
                for e in entries
            ],
        )

    return router


def _readable(t: Translator, columns: list[str], rows: list[tuple[Any, ...]]) -> reports.Report:
    """A report for people: headers and statuses in the reader's language, "—" for nothing,
    times as on every page. The CSV keeps the reports' own column names and values."""
    headers = [t(f"dashboard.lotteries.report_col.{column}") for column in columns]

    def cell(column: str, value: Any) -> Any:
        if value is None or value == "":
            return "—"
        if column == "status":
            return t(f"lottery.status.{value}")
        if column == "won_at":
            return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
        return value

    return headers, [tuple(map(cell, columns, row)) for row in rows]


async def _detail(session: AsyncSession, lottery_id: int, *, verify: bool = True) -> dict[str, Any]:
    lottery = await service.get(session=session, lottery_id=lottery_id)
    participants = await session.scalar(
        select(func.count()).where(Participation.lottery_id == lottery_id)
    )
    drawn = lottery.state == LotteryState.DRAWN
    return {
        "lottery": lottery,
        "participants": participants or 0,
        "prizes": await service.prizes(session=session, lottery_id=lottery_id),
        "winners": await wins.places(session=session, lottery_id=lottery_id, include_redrawn=True),
        "verification": await draws.verify(session=session, lottery_id=lottery_id)
        if drawn and verify
        else None,
        "audit": await audit.entries(session=session, lottery_id=lottery_id, limit=200),
    }


async def figures(session: AsyncSession) -> list[Figure]:
    by_state = dict(
        (await session.execute(select(Lottery.state, func.count()).group_by(Lottery.state))).all()
    )
    pending = await session.scalar(
        select(func.count()).where(Win.status == WinStatus.PENDING, Win.deadline_at > utcnow())
    )
    link = "/dashboard/lotteries"
    return [
        ("lottery.state.open", str(by_state.get(LotteryState.OPEN, 0)), link),
        ("lottery.state.drawn", str(by_state.get(LotteryState.DRAWN, 0)), link),
        ("dashboard.lotteries.pending_wins", str(pending or 0), link),
    ]


SECTION = Section(
    "lotteries", "dashboard.nav.lotteries", create_router, feature="lotteries", figures=figures
)
