"""The audit log page of the dashboard: newest first, filtered by area, with CSV."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bozor.audit import service
from bozor.audit.models import AuditRecord
from bozor.audit.render import action_label, area_label, readable
from bozor.dashboard.web import AdminDep, csv_response, language_of, render, runtime_of
from bozor.featurekit import Section
from bozor.i18n import Translator

PAGE = 100
COLUMNS = ["id", "at", "area", "action", "actor", "target", "ip", "details"]
Area = Annotated[str, Query(max_length=32, pattern=r"^[a-z_]*$")]
Target = Annotated[str, Query(max_length=128)]


def _row(entry: AuditRecord) -> tuple[object, ...]:
    details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
    return (entry.id, entry.at, entry.area, entry.action, entry.actor, entry.target, entry.ip,
            details)  # fmt: skip


def create_router() -> APIRouter:
    router = APIRouter(prefix="/audit")

    @router.get("")
    async def page(
        request: Request,
        admin: AdminDep,
        area: Area = "",
        target: Target = "",
        before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> Response:
        async with runtime_of(request).session_factory() as session:
            entries = await service.entries(
                session=session,
                area=area or None,
                target=target or None,
                before_id=before,
                limit=PAGE + 1,
            )
            areas = await service.areas(session=session)
        t = Translator(language_of(request))
        return render(
            request,
            "audit/index.html",
            admin=admin,
            area=area,
            target=target,
            areas=[(a, area_label(t, a)) for a in areas],
            entries=[
                (e, area_label(t, e.area), action_label(t, e.action), readable(e.details))
                for e in entries[:PAGE]
            ],
            older=entries[PAGE - 1].id if len(entries) > PAGE else None,
        )

    @router.get("/audit.csv")
    async def audit_csv(request: Request, admin: AdminDep, area: Area = "") -> Response:
        async with runtime_of(request).session_factory() as session:
            entries = await service.entries(session=session, area=area or None, limit=100_000)
        return csv_response(f"audit{'-' + area if area else ''}.csv", COLUMNS, map(_row, entries))

    return router


SECTION = Section("audit", "dashboard.nav.audit", create_router)
