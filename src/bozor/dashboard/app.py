"""Mounting the dashboard: sign-in and sessions (signin.py), the overview, static files, and
each section."""

from __future__ import annotations

import inspect
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from bozor.api.limits import limit_ip
from bozor.api.problems import status_of
from bozor.dashboard import sessions, signin
from bozor.dashboard.backoff import Backoff
from bozor.dashboard.registry import sections
from bozor.dashboard.web import (
    LANGUAGE_COOKIE,
    Admin,
    AdminDep,
    CsrfError,
    NotSignedInError,
    environment,
    language_of,
    render,
    runtime_of,
    sections_of,
)
from bozor.errors import DomainError, NotFoundError
from bozor.featurekit import Figure
from bozor.i18n import LANGUAGES, Translator

if TYPE_CHECKING:
    from bozor.process import Runtime

PREFIX = "/dashboard"
STATIC = {"dashboard.css": "text/css"}


def include_dashboard(app: FastAPI, runtime: Runtime) -> None:
    """Add /dashboard to the HTTP app (not in the OpenAPI document)."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(limit_ip)])
    app.state.dashboard_sessions = sessions.Sessions.create(
        runtime.settings, runtime.session_factory, runtime.redis
    )
    app.state.dashboard_backoff = Backoff(runtime.settings, runtime.redis)

    @router.get("")
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    router.include_router(_core_router())
    app.state.dashboard_sections = sections(runtime.features)  # the navigation reads them
    app.state.dashboard_templates = environment(
        {
            feature.name: feature.dashboard_templates
            for feature in runtime.features
            if feature.dashboard_templates is not None
        }
    )
    for section in app.state.dashboard_sections:
        router.include_router(section.router())
    app.include_router(router)
    app.add_exception_handler(NotSignedInError, _not_signed_in)
    app.add_exception_handler(CsrfError, _bad_csrf)
    _map_domain_errors(app)


def _map_domain_errors(app: FastAPI) -> None:
    """A domain error a page did not handle becomes a page, in one place (the API's handler,
    installed before, keeps answering problem details outside /dashboard): "not found" for
    a NotFoundError, else the error's translated text, with the API's status for its kind."""
    api_handler = app.exception_handlers[DomainError]

    async def domain_error(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        assert isinstance(exc, DomainError)
        admin: Admin | None = getattr(request.state, "dashboard_admin", None)
        if isinstance(exc, NotFoundError):
            return render(request, "not_found.html", admin=admin, status=404)
        t = Translator(language_of(request))
        return render(
            request,
            "problem.html",
            admin=admin,
            status=status_of(exc),
            message=t(exc.code, **exc.params),
        )

    app.add_exception_handler(DomainError, domain_error)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if request.method != "GET" or path.endswith((".csv", ".json", ".jpg")):
        return PlainTextResponse("Sign in to the dashboard first.", status_code=401)
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/signin?next={quote(target, safe='')}", status_code=303)


async def _bad_csrf(request: Request, exc: Exception) -> Response:
    t = Translator(language_of(request))
    return PlainTextResponse(t("dashboard.csrf_failed"), status_code=403)


def _core_router() -> APIRouter:
    router = APIRouter()

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        body = resources.files("bozor.dashboard").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=300"})

    router.include_router(signin.create_router())

    @router.get("/language/{code}")
    async def language(code: str, next: str | None = None) -> Response:
        response = RedirectResponse(signin.safe_next(next), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, path=PREFIX)
        return response

    @router.get("/")
    async def overview(request: Request, admin: AdminDep) -> Response:
        runtime = runtime_of(request)
        async with runtime.session_factory() as db:
            blocks: list[tuple[str, list[Figure]]] = [
                (section.nav_key, await section.figures(db))
                for section in sections_of(request)
                if section.figures is not None and section.nav_key is not None
            ]
        return render(request, "overview.html", admin=admin, blocks=blocks)

    return router
