"""Signing in and out of the dashboard, and the sessions page.

Three ways in: the DASHBOARD_PASSWORD, an API key with the admin scope, or Telegram's Login
Widget for an id in ADMIN_IDS. Every attempt, refused or not, goes to the audit log (never the
secret). Failed attempts lock the account and the IP out for a while (backoff.py); while
locked, nothing is checked and the answer is 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import telegram_login
from bozor.apikeys import service as keys_service
from bozor.audit import service as audit
from bozor.dashboard import sessions
from bozor.dashboard.backoff import Backoff
from bozor.dashboard.web import (
    CSP,
    AdminDep,
    CsrfError,
    checked_form,
    client_ip,
    form,
    language_of,
    render,
    runtime_of,
    sessions_of,
)
from bozor.db import session_scope
from bozor.i18n import Translator
from bozor.settings import Settings

PREFIX = "/dashboard"
AREA = sessions.AREA
_KEY_PREFIX = re.compile(r"^bzr_([A-Za-z0-9]{8})_")
# The real widget's script and frame come from Telegram: allowed on the sign-in page only.
WIDGET_CSP = (
    CSP.replace("script-src 'none'", "script-src https://telegram.org")
    + "; frame-src https://oauth.telegram.org"
)
SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


def backoff_of(request: Request) -> Backoff:
    return request.app.state.dashboard_backoff  # type: ignore[no-any-return]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: never an open redirect."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//"):
        return value
    return f"{PREFIX}/"


def telegram_login_on(settings: Settings) -> bool:
    return settings.bot_token is not None and bool(
        settings.dashboard_telegram_login or settings.dashboard_telegram_login_url
    )


def _callback_url(request: Request) -> str:
    """Where the widget sends the admin back: under PUBLIC_URL when set (the domain given to
    @BotFather), else the address this request came to."""
    base = runtime_of(request).settings.public_url or str(request.base_url)
    return base.rstrip("/") + f"{PREFIX}/signin/telegram"


def _telegram_button(request: Request) -> dict[str, Any]:
    """What the sign-in page shows for Telegram: nothing, the emulator's link, or the widget."""
    settings = runtime_of(request).settings
    if not telegram_login_on(settings) or settings.bot_token is None:
        return {}
    if settings.dashboard_telegram_login_url:
        bot_id = settings.bot_token.get_secret_value().split(":", 1)[0]
        query = urlencode({"bot_id": bot_id, "return_to": _callback_url(request)})
        joint = "&" if "?" in settings.dashboard_telegram_login_url else "?"
        return {"telegram_link": f"{settings.dashboard_telegram_login_url}{joint}{query}"}
    return {
        "telegram_widget": (settings.dashboard_telegram_login or "").lstrip("@"),
        "telegram_callback": _callback_url(request),
    }


def signin_page(
    request: Request,
    *,
    next: str | None,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    settings = runtime_of(request).settings
    token, cookie = sessions.signin_token(settings)
    telegram = _telegram_button(request)
    response = render(
        request,
        "signin.html",
        admin=None,
        status=status,
        csp=WIDGET_CSP if "telegram_widget" in telegram else CSP,
        headers=headers,
        csrf=token,
        next=safe_next(next),
        error=error,
        password_on=settings.dashboard_password is not None,
        **telegram,
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


def _locked_page(request: Request, wait: float, next: str | None) -> Response:
    t = Translator(language_of(request))
    seconds = max(1, math.ceil(wait))
    if seconds >= 90:
        message = t("dashboard.signin_locked_minutes", count=math.ceil(seconds / 60))
    else:
        message = t("dashboard.signin_locked_seconds", count=seconds)
    return signin_page(
        request, next=next, error=message, status=429, headers={"Retry-After": str(seconds)}
    )


def _signed_in(request: Request, token: str, target: str) -> Response:
    settings = runtime_of(request).settings
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.SESSION_COOKIE,
        token,
        max_age=int(settings.dashboard_session_hours * 3600),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(sessions.SIGNIN_COOKIE, path=PREFIX)
    return response


Check = Callable[[AsyncSession], Awaitable[tuple[str, str] | str]]


async def _attempt(
    request: Request,
    *,
    method: str,
    account: str,
    check: Check,
    next: str | None,
    target: str,
) -> Response:
    """One sign-in attempt, locked out or checked, recorded either way. `check` answers
    (subject, label) on success, or the reason of a refusal."""
    runtime = runtime_of(request)
    ip = client_ip(request)
    scopes = [f"account:{account}", f"ip:{ip}"]
    backoff = backoff_of(request)
    user_agent = request.headers.get("user-agent", "")[:300]
    t = Translator(language_of(request))
    token = ""
    async with session_scope(runtime.session_factory) as db:
        # Counted as a failure before the check (exact when guesses come all at once).
        claim = await backoff.claim(db, scopes)
        if not claim.allowed:
            await audit.record(
                session=db,
                area=AREA,
                action="signin_refused",
                actor=account,
                ip=ip,
                details={"method": method, "reason": "locked_out", "wait": math.ceil(claim.wait)},
            )
            outcome: tuple[str, str] | str | float = claim.wait
        else:
            outcome = await check(db)
            if isinstance(outcome, str):
                await audit.record(
                    session=db,
                    area=AREA,
                    action="signin_failed",
                    actor=account,
                    ip=ip,
                    details={"method": method, "reason": outcome, "user_agent": user_agent},
                )
                if claim.wait:
                    outcome = claim.wait
            else:
                subject, label = outcome
                await backoff.succeeded(db, scopes)
                token = await sessions_of(request).open(
                    db, subject=subject, label=label, ip=ip, user_agent=user_agent
                )
                await audit.record(
                    session=db,
                    area=AREA,
                    action="signin",
                    actor=subject,
                    target=f"session:{sessions.session_id(token)[:12]}",
                    ip=ip,
                    details={"method": method, "who": label, "user_agent": user_agent},
                )
    if isinstance(outcome, float):
        return _locked_page(request, outcome, next)
    if isinstance(outcome, str):
        message = {
            "not_admin": "dashboard.signin_not_admin",
            "bad_signature": "dashboard.signin_telegram_failed",
            "stale": "dashboard.signin_telegram_failed",
            "replayed": "dashboard.signin_telegram_failed",
            "incomplete": "dashboard.signin_telegram_failed",
        }.get(outcome, "dashboard.signin_failed")
        return signin_page(request, next=next, error=t(message), status=401)
    return _signed_in(request, token, target)


def create_router() -> APIRouter:
    router = APIRouter()

    @router.get("/signin")
    async def signin_form(request: Request, next: str | None = None) -> Response:
        return signin_page(request, next=next)

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        settings = runtime_of(request).settings
        fields = await form(request)
        vouched = sessions.unsign(settings, request.cookies.get(sessions.SIGNIN_COOKIE))
        if vouched is None or not sessions.same_token(vouched.get("csrf"), fields.get("csrf")):
            raise CsrfError()
        secret = fields.get("secret", "").strip()
        key_prefix = _KEY_PREFIX.match(secret)
        method = "api_key" if key_prefix else "password"
        account = f"key:{key_prefix.group(1)}" if key_prefix else "password"

        async def check(db: AsyncSession) -> tuple[str, str] | str:
            if key_prefix is None:
                if settings.dashboard_password is None:
                    return "no_password_set"
                if sessions.password_matches(settings, secret):
                    return "password", "password"
                return "wrong_password"
            key = await keys_service.authenticate(session=db, presented=secret)
            if key is None:
                return "wrong_key"
            if "admin" not in key.scope_set:
                return "not_admin_scope"
            return f"key:{key.id}", f"{key.name} (API key #{key.id})"

        next = fields.get("next")
        return await _attempt(
            request, method=method, account=account, check=check, next=next, target=safe_next(next)
        )

    @router.get("/signin/telegram")
    async def signin_telegram(request: Request) -> Response:
        """Where Telegram's Login Widget (or the emulator playing it) sends the admin back."""
        settings = runtime_of(request).settings
        if not telegram_login_on(settings) or settings.bot_token is None:
            return signin_page(request, next=None, status=404)
        query = dict(request.query_params)
        claimed = query.get("id", "")
        account = f"telegram:{claimed}" if claimed.isdigit() and len(claimed) < 20 else "telegram"
        bot_token = settings.bot_token.get_secret_value()

        async def check(db: AsyncSession) -> tuple[str, str] | str:
            try:
                login = telegram_login.verify(
                    bot_token, query, max_age=settings.dashboard_telegram_login_max_age
                )
            except telegram_login.LoginRefused as refused:
                return refused.reason
            if login.id not in settings.admin_ids:
                return "not_admin"
            proof = hashlib.sha256(login.hash.encode()).hexdigest()
            until = datetime.fromtimestamp(login.auth_date, UTC) + timedelta(
                seconds=settings.dashboard_telegram_login_max_age + 600
            )
            if not await sessions_of(request).claim_proof(db, proof, until):
                return "replayed"
            return f"telegram:{login.id}", login.name

        return await _attempt(
            request,
            method="telegram",
            account=account,
            check=check,
            next=None,
            target=f"{PREFIX}/",
        )

    @router.post("/signout")
    async def signout(request: Request, admin: AdminDep) -> Response:
        await checked_form(request, admin)
        await sessions_of(request).end(
            [admin.session_id], reason="signed_out", actor=admin.subject, ip=client_ip(request)
        )
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(sessions.SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/sessions")
    async def sessions_page(request: Request, admin: AdminDep) -> Response:
        """The live sessions: who, from where, with what browser, last used when."""
        active = await sessions_of(request).active()
        return render(request, "sessions.html", admin=admin, sessions=active)

    @router.post("/sessions/end-all")
    async def end_all(request: Request, admin: AdminDep) -> Response:
        """Sign out everywhere: every session ends, this one too."""
        await checked_form(request, admin)
        await sessions_of(request).end_all(actor=admin.subject, ip=client_ip(request))
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(sessions.SESSION_COOKIE, path=PREFIX)
        return response

    @router.post("/sessions/{session_id}/end")
    async def end_one(request: Request, admin: AdminDep, session_id: SessionId) -> Response:
        await checked_form(request, admin)
        await sessions_of(request).end(
            [session_id], reason="ended_by_admin", actor=admin.subject, ip=client_ip(request)
        )
        if session_id == admin.session_id:
            response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
            response.delete_cookie(sessions.SESSION_COOKIE, path=PREFIX)
            return response
        return RedirectResponse(f"{PREFIX}/sessions", status_code=303)

    return router
