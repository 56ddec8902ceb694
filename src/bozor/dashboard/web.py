"""What every dashboard page uses: templates, the signed-in admin, forms with CSRF, CSV."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    FunctionLoader,
    PrefixLoader,
    select_autoescape,
)
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import csv_export, localtime
from bozor.api.deps import runtime_of as runtime_of  # the dashboard reads it here
from bozor.apikeys import service as keys_service
from bozor.dashboard import sessions
from bozor.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, pick_language

if TYPE_CHECKING:
    from collections.abc import Mapping
    from importlib.abc import Traversable

    from bozor.featurekit import Section

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGE_COOKIE = "bozor_dashboard_language"
MAX_FORM = 64 * 1024
# No script at all; inline styles only for chart bar widths; forms post back here only.
CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'none'; form-action 'self'; frame-ancestors 'none'"
)


class NotSignedInError(Exception):
    """No valid dashboard session: pages redirect to the sign-in page, data answers 401."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Admin:
    """The signed-in admin: how they signed in, who they are, their session."""

    subject: str  # "password", "key:<id>" or "telegram:<id>"
    label: str
    session_id: str
    csrf: str


def templates_of(request: Request) -> Environment:
    """The dashboard's templates: the core's and the enabled features' (include_dashboard)."""
    return request.app.state.dashboard_templates  # type: ignore[no-any-return]


def sections_of(request: Request) -> list[Section]:
    """The dashboard's sections (bozor.dashboard.app.include_dashboard set them)."""
    return request.app.state.dashboard_sections  # type: ignore[no-any-return]


def language_of(request: Request) -> str:
    return pick_language(
        request.cookies.get(LANGUAGE_COOKIE),
        *[
            part.split(";")[0].strip()
            for part in request.headers.get("accept-language", "").split(",")
        ],
    )


def when_cell(value: datetime | None) -> Markup:
    """A moment for a table cell: the zone's name on a line of its own under the time, so
    that a column of times is no wider than the time itself."""
    if value is None:
        return Markup("—")
    time = localtime.show(value).removesuffix(f" {localtime.label(value)}")
    return Markup('{}<span class="zone"> {}</span>').format(time, localtime.label(value))


def _folder_loader(folder: Traversable) -> BaseLoader:
    """Templates from a package's folder, wherever the package is installed."""

    def load(name: str) -> str | None:
        item = folder.joinpath(*name.split("/"))
        return item.read_text("utf-8") if item.is_file() else None

    return FunctionLoader(load)


def environment(features: Mapping[str, Traversable]) -> Environment:
    """The core's templates (the page, macros, the core's sections), then each given feature's
    (`Feature.dashboard_templates`), named "<feature>/<file>"."""
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({name: _folder_loader(folder) for name, folder in features.items()}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = localtime.show
    env.filters["when_cell"] = when_cell
    env.filters["day"] = localtime.day
    env.globals["zone_name"] = localtime.zone_name
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def render(
    request: Request,
    template: str,
    *,
    admin: Admin | None,
    status: int = 200,
    csp: str = CSP,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page in the admin's language, with the navigation of the enabled sections."""
    language = language_of(request)
    html = (
        templates_of(request)
        .get_template(template)
        .render(
            t=Translator(language),
            language=language,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            admin=admin,
            nav=[s for s in sections_of(request) if s.nav_key],
            path=request.url.path,
            query=request.url.query,
            **context,
        )
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": csp,
            "Referrer-Policy": "same-origin",
            **(headers or {}),
        },
    )


def sessions_of(request: Request) -> sessions.Sessions:
    return request.app.state.dashboard_sessions  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For when TRUSTED_PROXIES names it)."""
    return request.client.host if request.client else ""


async def current_admin(request: Request) -> Admin:
    """The signed-in admin (a dependency); NotSignedInError without a live session. See
    sessions.py for what ends one."""
    current = await sessions_of(request).current(
        request.cookies.get(sessions.SESSION_COOKIE), ip=client_ip(request)
    )
    if current is None:
        raise NotSignedInError()
    stored = current.session
    admin = Admin(stored.subject, stored.label, stored.id, current.csrf)
    request.state.dashboard_admin = admin  # for the error page, should the route fail
    return admin


AdminDep = Annotated[Admin, Depends(current_admin)]


async def admin_name(session: AsyncSession, admin: Admin) -> str:
    """The signed-in admin as records show them to other admins (who decided an ad, who sent
    a broadcast): the API key's name and id, the Telegram admin, or the dashboard password."""
    if admin.subject.startswith("key:"):
        key_id = int(admin.subject.removeprefix("key:"))
        key = await keys_service.get_live(session=session, key_id=key_id)
        name = key.name if key is not None else "?"
        return f"{name} (dashboard, API key #{key_id})"
    if admin.subject.startswith("telegram:"):
        return f"{admin.label} (dashboard, Telegram {admin.subject.removeprefix('telegram:')})"
    return "dashboard admin (password)"


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each)."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise CsrfError()
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


async def checked_form(request: Request, admin: Admin) -> dict[str, str]:
    """The form of a POST by a signed-in admin; CsrfError unless it carries their token."""
    fields = await form(request)
    if not sessions.same_token(admin.csrf, fields.get("csrf")):
        raise CsrfError()
    return fields


def csv_response(
    filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingResponse:
    """A table as a CSV download."""

    async def one_page() -> AsyncIterator[Iterable[Sequence[Any]]]:
        yield rows

    return csv_pages(filename, columns, one_page())


def csv_pages(
    filename: str, columns: Sequence[str], pages: AsyncIterator[Iterable[Sequence[Any]]]
) -> StreamingResponse:
    """A large table as a CSV download, sent page by page as `pages` reads them."""

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv_export.writer(buffer)
        writer.writerow(columns)
        async for rows in pages:
            writer.writerows(rows)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return csv_stream(filename, lines())


def csv_stream(filename: str, lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
