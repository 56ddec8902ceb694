"""The users page of the dashboard: search by name, @username, Telegram or integrator id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.dashboard.web import AdminDep, csv_response, render, runtime_of
from bozor.featurekit import Figure, Section
from bozor.users import service
from bozor.users.models import User

PAGE = 50
Search = Annotated[str, Query(max_length=100)]
COLUMNS = [
    "id", "telegram_id", "external_id", "first_name", "last_name", "username", "language",
    "created_at", "last_seen_at", "blocked_bot", "banned",
]  # fmt: skip


def _row(user: User) -> tuple[object, ...]:
    return (
        user.id, user.telegram_id, user.external_id, user.first_name, user.last_name,
        user.username, user.language or user.telegram_language, user.created_at,
        user.last_seen_at, user.is_blocked, user.is_banned,
    )  # fmt: skip


def create_router() -> APIRouter:
    router = APIRouter(prefix="/users")

    @router.get("")
    async def page(
        request: Request, admin: AdminDep, q: Search = "", page: Annotated[int, Query(ge=1)] = 1
    ) -> Response:
        async with runtime_of(request).session_factory() as session:
            users, total = await service.search(
                session=session, query=q, limit=PAGE, offset=(page - 1) * PAGE
            )
        return render(
            request,
            "users/index.html",
            admin=admin,
            q=q,
            page=page,
            total=total,
            more=page * PAGE < total,
            users=users,
        )

    @router.get("/users.csv")
    async def users_csv(request: Request, admin: AdminDep, q: Search = "") -> Response:
        async with runtime_of(request).session_factory() as session:
            users, _ = await service.search(session=session, query=q, limit=None)
        return csv_response("users.csv", COLUMNS, [_row(u) for u in users])

    return router


async def figures(session: AsyncSession) -> list[Figure]:
    total = await session.scalar(select(func.count()).select_from(User))
    blocked = await session.scalar(select(func.count()).where(User.is_blocked.is_(True)))
    return [
        ("dashboard.users.total", str(total or 0), "/dashboard/users"),
        ("dashboard.users.blocked", str(blocked or 0), "/dashboard/users"),
    ]


SECTION = Section("users", "dashboard.nav.users", create_router, figures=figures)
