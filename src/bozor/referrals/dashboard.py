"""The referrals pages of the dashboard: the funnel over time, top referrers, the review
queue (approve/reject, as the admin API does) and the latest referrals, each with CSV."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.dashboard.charts import Series, funnel_bars, line_chart
from bozor.dashboard.web import (
    AdminDep,
    checked_form,
    csv_response,
    csv_stream,
    language_of,
    render,
    runtime_of,
)
from bozor.db import utcnow
from bozor.errors import DomainError
from bozor.featurekit import Figure, Section
from bozor.i18n import Translator
from bozor.referrals import admin_api, reports, service
from bozor.referrals.models import ReferralStatus
from bozor.users import service as users_service

Days = Annotated[int, Query(ge=1, le=366)]
PERIODS = (7, 30, 90)


def _window(days: int) -> tuple[datetime, datetime]:
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), time(), tzinfo=utcnow().tzinfo)
    return tomorrow - timedelta(days=days), tomorrow


def create_router() -> APIRouter:
    router = APIRouter(prefix="/referrals")

    @router.get("")
    async def page(request: Request, admin: AdminDep, days: Days = 30) -> Response:
        t = Translator(language_of(request))
        since, until = _window(days)
        async with runtime_of(request).session_factory() as session:
            funnel = await reports.funnel_by_day(session=session, since=since, until=until)
            top = await reports.top_referrers(session=session, limit=20)
            queue = [
                row
                for status in (ReferralStatus.REVIEW, ReferralStatus.PENDING)
                for row in await service.list_referrals(
                    session=session, where=service.ReferralFilter(status), limit=50
                )
            ]
            latest = await service.list_referrals(
                session=session, where=service.ReferralFilter(), limit=20
            )
            names = await users_service.display_names(
                session=session,
                user_ids=[
                    user_id
                    for row in (*queue, *latest)
                    for user_id in (row.referral.referrer_id, row.referral.referred_id)
                ],
            )
        clicks = sum(d.clicks for d in funnel)
        signups = sum(d.signups for d in funnel)
        confirmed = sum(d.confirmed for d in funnel)
        chart = line_chart(
            [d.day.strftime("%d.%m") for d in funnel],
            [
                Series(t("dashboard.referrals.clicks"), [d.clicks for d in funnel], "s1"),
                Series(t("dashboard.referrals.signups"), [d.signups for d in funnel], "s2"),
                Series(t("dashboard.referrals.confirmed"), [d.confirmed for d in funnel], "s3"),
            ],
            title=t("dashboard.referrals.funnel"),
        )
        bars = funnel_bars(
            [
                (t("dashboard.referrals.clicks"), clicks),
                (t("dashboard.referrals.signups"), signups),
                (t("dashboard.referrals.confirmed"), confirmed),
            ],
            title=t("dashboard.referrals.funnel"),
        )
        return render(
            request,
            "referrals/index.html",
            admin=admin,
            days=days,
            periods=PERIODS,
            chart=chart,
            bars=bars,
            top=[
                (
                    i,
                    r.user.full_name,
                    f"@{r.user.username}" if r.user.username else "—",
                    r.clicks,
                    r.signups,
                    r.confirmed,
                )
                for i, r in enumerate(top, start=1)
            ],
            queue=[
                (row, names[row.referral.referrer_id], names[row.referral.referred_id])
                for row in queue
            ],
            latest=[
                (
                    row.referral.id,
                    names[row.referral.referrer_id],
                    names[row.referral.referred_id],
                    t(f"dashboard.status.{row.referral.status}"),
                    row.referral.reason or "",
                    localtime.show(row.referral.created_at),
                )
                for row in latest
            ],
        )

    @router.get("/funnel.csv")
    async def funnel_csv(request: Request, admin: AdminDep, days: Days = 30) -> Response:
        since, until = _window(days)
        async with runtime_of(request).session_factory() as session:
            funnel = await reports.funnel_by_day(session=session, since=since, until=until)
        return csv_response(
            "referral-funnel.csv",
            ["day", "clicks", "signups", "confirmed"],
            [(d.day.isoformat(), d.clicks, d.signups, d.confirmed) for d in funnel],
        )

    @router.get("/top.csv")
    async def top_csv(request: Request, admin: AdminDep) -> Response:
        async with runtime_of(request).session_factory() as session:
            top = await reports.top_referrers(session=session, limit=1000)
        return csv_response(
            "top-referrers.csv",
            ["rank", "user_id", "telegram_id", "name", "username", "clicks", "signups",
             "confirmed"],
            [
                (i, r.user.id, r.user.telegram_id, r.user.full_name, r.user.username,
                 r.clicks, r.signups, r.confirmed)
                for i, r in enumerate(top, start=1)
            ],
        )  # fmt: skip

    @router.get("/referrals.csv")
    async def referrals_csv(
        request: Request, admin: AdminDep, status: ReferralStatus | None = None
    ) -> Response:
        """The same export as GET /api/v1/admin/referrals.csv."""
        factory = runtime_of(request).session_factory
        return csv_stream(
            "referrals.csv", admin_api.csv_lines(factory, service.ReferralFilter(status))
        )

    @router.post("/{referral_id}/decide")
    async def decide(request: Request, admin: AdminDep, referral_id: int) -> Response:
        """Approve or reject a referral held for review (the admin API's rule, not a copy)."""
        fields = await checked_form(request, admin)
        runtime = runtime_of(request)
        async with runtime.session_factory() as session:
            try:
                await service.review(
                    session=session,
                    referral_id=referral_id,
                    approve=fields.get("decision") == "approve",
                    reason=(fields.get("reason") or "").strip()[:200] or None,
                    settings=runtime.settings,
                )
            except DomainError:
                pass  # decided meanwhile (by someone else): the page shows its state now
            else:
                await session.commit()
        return RedirectResponse("/dashboard/referrals#review", status_code=303)

    return router


async def figures(session: AsyncSession) -> list[Figure]:
    totals = await reports.totals(session=session)
    link = "/dashboard/referrals"
    return [
        ("dashboard.referrals.clicks", str(totals["clicks"]), link),
        ("dashboard.referrals.confirmed", str(totals[ReferralStatus.CONFIRMED]), link),
        ("dashboard.status.pending", str(totals[ReferralStatus.PENDING]), link),
        ("dashboard.status.review", str(totals[ReferralStatus.REVIEW]), link + "#review"),
    ]


SECTION = Section(
    "referrals", "dashboard.nav.referrals", create_router, feature="referrals", figures=figures
)
