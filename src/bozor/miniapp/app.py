"""Mounting the Mini App under /app/: its static files, the shell page, the home view and each
feature's views (see the package docstring for the convention)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from bozor.api.limits import limit_ip
from bozor.i18n import LANGUAGES, Translator
from bozor.miniapp.web import (
    HEADERS,
    InitDataMissingOrInvalid,
    MiniAppRoute,
    ViewerDep,
    add_templates,
    environment,
    render,
)
from bozor.settings import Settings

if TYPE_CHECKING:
    from bozor.runtime import Runtime

PREFIX = "/app"
STATIC = {
    "telegram-web-app.js": "text/javascript",
    "miniapp.js": "text/javascript",
    "miniapp.css": "text/css",
    "verify.js": "text/javascript",
}
SHELL_TEXTS = ("outside", "refused", "failed")

RouterFactory = Callable[[Settings], APIRouter]


def feature_pages(runtime: Runtime) -> list[tuple[str, RouterFactory]]:
    """(feature, its router factory) for the enabled features that have Mini App views."""
    return [(feature.name, feature.miniapp) for feature in runtime.features if feature.miniapp]


def include_miniapp(app: FastAPI, runtime: Runtime) -> None:
    """Add /app/ to the HTTP app (not in the OpenAPI document)."""
    settings = runtime.settings
    pages = feature_pages(runtime)
    for feature in runtime.features:
        if feature.miniapp and feature.miniapp_templates:
            add_templates(feature.name, feature.miniapp_templates)
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(limit_ip)])

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        return Response(
            _static(name), media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
        )

    api = APIRouter(prefix="/api", route_class=MiniAppRoute)

    @api.get("/")
    async def home(viewer: ViewerDep) -> HTMLResponse:
        return render(viewer, "home.html", path="/", features=[name for name, _ in pages])

    for _, factory in pages:
        api.include_router(factory(settings))

    @api.api_route("/{rest:path}", methods=["GET", "POST"])
    async def unknown(viewer: ViewerDep, rest: str) -> HTMLResponse:
        return render(viewer, "not_found.html", status=404, back="/")

    router.include_router(api)

    @router.get("")
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @router.get("/")
    @router.get("/{rest:path}")
    async def shell(request: Request) -> HTMLResponse:
        # The same page for every path: its script loads the view from /app/api/<path>.
        return HTMLResponse(_shell(), headers=HEADERS)

    app.include_router(router)
    app.add_exception_handler(InitDataMissingOrInvalid, _refused)


async def _refused(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(
        "Unauthorized", status_code=401, headers={"WWW-Authenticate": "tma", **HEADERS}
    )


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


@cache
def _version() -> str:
    """Changes with the assets, so a new release is not served from a client's cache."""
    digest = hashlib.sha256()
    for name in sorted(STATIC):
        digest.update(_static(name))
    return digest.hexdigest()[:10]


@cache
def _shell() -> str:
    texts = {
        language: {key: Translator(language)(f"miniapp.shell.{key}") for key in SHELL_TEXTS}
        for language in LANGUAGES
    }
    return environment().get_template("shell.html").render(texts=texts, version=_version())
