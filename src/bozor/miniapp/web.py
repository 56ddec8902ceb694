"""What every Mini App page uses: the viewer from the signed initData, templates, answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, FunctionLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.api.auth import open_session
from bozor.errors import DomainError, ForbiddenError, InvalidInputError, NotFoundError
from bozor.i18n import Translator, pick_language
from bozor.telegram_webapp import InitData, InitDataRefused, verify
from bozor.users import service as users_service
from bozor.users.models import User

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
INIT_DATA_HEADER = "X-Telegram-Init-Data"
MAX_FORM = 16 * 1024
# Telegram shows the Mini App in a frame on its web clients, so framing stays allowed; scripts
# only from here (no inline script), requests only to here.
CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'"
)
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP, "Vary": INIT_DATA_HEADER}


class InitDataMissingOrInvalid(Exception):
    """No valid initData: 401 with nothing else said (the reason goes to the log)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The Telegram user who opened the Mini App (from verified initData), as Bozor knows them."""

    user: User
    init: InitData
    language: str

    @property
    def t(self) -> Translator:
        return Translator(self.language)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


SessionDep = Annotated[AsyncSession, Depends(open_session)]


async def current_viewer(request: Request, session: SessionDep) -> Viewer:
    """The verified viewer (a dependency); InitDataMissingOrInvalid, so 401, otherwise."""
    settings = runtime_of(request).settings
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    try:
        init = verify(
            token,
            request.headers.get(INIT_DATA_HEADER),
            max_age=settings.miniapp_init_data_max_age,
        )
    except InitDataRefused as refused:
        log.info("Mini App request refused: %s initData", refused.reason)
        raise InitDataMissingOrInvalid() from None
    profile = users_service.TelegramProfile(
        init.user.id,
        init.user.first_name,
        init.user.last_name,
        init.user.username,
        init.user.language_code,
    )
    # Opening the Mini App is talking to the bot: someone new is stored as /start would.
    user, created = await users_service.upsert_from_telegram(session=session, profile=profile)
    if created:
        await session.commit()
    language = pick_language(
        user.language, user.telegram_language, init.user.language_code, settings.default_language
    )
    viewer = Viewer(user, init, language)
    request.state.miniapp_viewer = viewer  # for MiniAppRoute's error view
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


_FEATURE_TEMPLATES: dict[str, Traversable] = {}  # by feature name (add_templates)


def add_templates(feature: str, folder: Traversable) -> None:
    """Serve the templates named "<feature>/<file>" from the feature's own folder
    (`Feature.miniapp_templates`; include_miniapp adds the enabled features')."""
    _FEATURE_TEMPLATES[feature] = folder


def _feature_template(name: str) -> str | None:
    feature, _, rest = name.partition("/")
    folder = _FEATURE_TEMPLATES.get(feature)
    if folder is None or not rest:
        return None
    item = folder.joinpath(*rest.split("/"))
    return item.read_text("utf-8") if item.is_file() else None


@cache
def environment() -> Environment:
    """The core's templates (the page, the home view, errors), then each feature's."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES), FunctionLoader(_feature_template)]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "—"
    env.filters["day"] = lambda value: value.strftime("%Y-%m-%d") if value else "—"
    return env


def render(viewer: Viewer, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A view (an HTML fragment the app's script puts in place) in the viewer's language."""
    html = (
        environment()
        .get_template(template)
        .render(t=viewer.t, language=viewer.language, viewer=viewer, **context)
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


_STATUS: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ForbiddenError: 403,
    InvalidInputError: 422,
}


class MiniAppRoute(APIRoute):
    """A view route whose domain errors (a rule said no) become a translated error view, in
    one place: the route rolls back (its session closes uncommitted) and the viewer reads why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                viewer: Viewer | None = getattr(request.state, "miniapp_viewer", None)
                if viewer is None:
                    raise
                status = next((c for k, c in _STATUS.items() if isinstance(error, k)), 409)
                message = viewer.t(error.code, **error.params)
                return render(viewer, "error.html", status=status, message=message, back="/")

        return handle


def answer(**fields: str) -> JSONResponse:
    """An action's answer other than a view: `invoice_link` (with `paid`/`closed`: where to go
    after), `go` (a view to show), `link` (a t.me link to open)."""
    return JSONResponse(fields, headers=HEADERS)


def view_router(prefix: str) -> APIRouter:
    """A feature's router of views (`prefix`: "/<feature>"), its domain errors shown as views."""
    return APIRouter(prefix=prefix, route_class=MiniAppRoute)


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each)."""
    body = await request.body()
    return {k: v[0] for k, v in parse_qs(body[:MAX_FORM].decode("utf-8", "replace")).items()}
