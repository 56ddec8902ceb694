"""Mounting the dashboard: sign-in and out, the overview, static files, and each section."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from bozor.api.limits import limit_ip
from bozor.apikeys import service as keys_service
from bozor.dashboard import sessions
from bozor.dashboard.registry import Figure, sections
from bozor.dashboard.web import (
    LANGUAGE_COOKIE,
    AdminDep,
    CsrfError,
    NotSignedInError,
    checked_form,
    form,
    language_of,
    render,
    runtime_of,
)
from bozor.i18n import LANGUAGES, Translator

if TYPE_CHECKING:
    from bozor.runtime import Runtime

PREFIX = "/dashboard"
STATIC = {"dashboard.css": "text/css"}


def include_dashboard(app: FastAPI, runtime: Runtime) -> None:
    """Add /dashboard to the HTTP app (not in the OpenAPI document)."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(limit_ip)])

    @router.get("")
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    router.include_router(_core_router())
    for section in sections(runtime.settings):
        router.include_router(section.router())
    app.include_router(router)
    app.add_exception_handler(NotSignedInError, _not_signed_in)
    app.add_exception_handler(CsrfError, _bad_csrf)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if request.method != "GET" or path.endswith((".csv", ".json", ".jpg")):
        return PlainTextResponse("Sign in to the dashboard first.", status_code=401)
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/signin?next={quote(target, safe='')}", status_code=303)


async def _bad_csrf(request: Request, exc: Exception) -> Response:
    t = Translator(language_of(request))
    return PlainTextResponse(t("dashboard.csrf_failed"), status_code=403)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: never an open redirect."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//"):
        return value
    return f"{PREFIX}/"


def _core_router() -> APIRouter:
    router = APIRouter()

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        body = resources.files("bozor.dashboard").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=300"})

    @router.get("/signin")
    async def signin_page(request: Request, next: str | None = None) -> Response:
        return _signin(request, next=next)

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        runtime = runtime_of(request)
        settings = runtime.settings
        fields = await form(request)
        vouched = sessions.unsign(settings, request.cookies.get(sessions.SIGNIN_COOKIE))
        if vouched is None or not sessions.same_token(vouched.get("csrf"), fields.get("csrf")):
            raise CsrfError()
        secret = fields.get("secret", "").strip()
        subject: str | None = None
        if sessions.password_matches(settings, secret):
            subject = "password"
        elif secret:
            async with runtime.session_factory() as db:
                key = await keys_service.authenticate(session=db, presented=secret)
            if key is not None and "admin" in key.scope_set:
                subject = f"key:{key.id}"
        if subject is None:
            return _signin(request, next=fields.get("next"), failed=True)
        _, cookie = sessions.new_session(settings, subject)
        response = RedirectResponse(_safe_next(fields.get("next")), status_code=303)
        response.set_cookie(
            sessions.SESSION_COOKIE,
            cookie,
            max_age=int(settings.dashboard_session_hours * 3600),
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        response.delete_cookie(sessions.SIGNIN_COOKIE, path=PREFIX)
        return response

    @router.post("/signout")
    async def signout(request: Request, admin: AdminDep) -> Response:
        await checked_form(request, admin)
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(sessions.SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/language/{code}")
    async def language(code: str, next: str | None = None) -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, path=PREFIX)
        return response

    @router.get("/")
    async def overview(request: Request, admin: AdminDep) -> Response:
        runtime = runtime_of(request)
        async with runtime.session_factory() as db:
            blocks: list[tuple[str, list[Figure]]] = [
                (section.nav_key, await section.figures(db))
                for section in sections(runtime.settings)
                if section.figures is not None and section.nav_key is not None
            ]
        return render(request, "overview.html", admin=admin, blocks=blocks)

    return router


def _signin(request: Request, *, next: str | None, failed: bool = False) -> Response:
    settings = runtime_of(request).settings
    token, cookie = sessions.signin_token(settings)
    response = render(
        request,
        "signin.html",
        admin=None,
        status=401 if failed else 200,
        csrf=token,
        next=_safe_next(next),
        failed=failed,
        password_on=settings.dashboard_password is not None,
    )
    response.set_cookie(
        sessions.SIGNIN_COOKIE,
        cookie,
        max_age=sessions.SIGNIN_SECONDS,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response
