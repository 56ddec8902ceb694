"""create_app(): the FastAPI application served by `bozor run`."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from bozor.api import methods, problems
from bozor.api.limits import limit_ip, limits_from
from bozor.api.tokens import router as token_router
from bozor.bot.errors import is_transient
from bozor.botidentity.link import FailFastWhileDown
from bozor.broadcasts import admin_api as broadcasts_admin_api
from bozor.classifieds import admin_api as classifieds_admin_api
from bozor.dashboard.app import include_dashboard
from bozor.lotteries import admin_api as lotteries_admin_api
from bozor.miniapp.app import include_miniapp
from bozor.observability.http import ObservabilityMiddleware
from bozor.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bozor.referrals import admin_api as referrals_admin_api
from bozor.referrals import api as referrals_api
from bozor.shop import admin_api as shop_admin_api
from bozor.webhooks import api as webhooks_api

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0  # seconds each dependency gets to answer /readyz
FAVICON = resources.files("bozor").joinpath("static", "favicon.svg").read_bytes()


def create_app(runtime: Runtime, *, api: bool = True, webhook: bool = True) -> FastAPI:
    """The HTTP app: the REST API (`api`) and Telegram's webhook endpoint (`webhook`, when
    WEBHOOK_URL is set); health checks always."""
    # Swagger UI's assets are served from the fastapi-offline package, not a CDN: /docs works
    # offline (the demo) and behind firewalls.
    app = FastAPIOffline(
        title="Bozor",
        version="0.1.0",
        summary="Referrals for your app, on the same graph as the Telegram bot.",
        docs_url="/docs",
        redoc_url=None,
        favicon_url="/favicon.ico",
    )
    app.state.runtime = runtime
    app.state.limits = limits_from(runtime.settings, runtime.redis)
    problems.install(app)
    methods.install(app)
    app.add_middleware(
        FailFastWhileDown,
        link=runtime.telegram,
        except_path=runtime.settings.webhook_path if webhook else None,
    )

    @app.exception_handler(TelegramNetworkError)
    @app.exception_handler(TelegramServerError)
    async def telegram_unavailable(_: Request, exc: TelegramAPIError) -> Response:
        # What needs Telegram's answer (the bot's @username, when never stored) waits for it.
        return problems.problem(
            503,
            "Telegram cannot be reached; try again shortly.",
            code="service.telegram_unavailable",
            headers={"Retry-After": "30"},
        )

    app.add_middleware(ObservabilityMiddleware, metrics=runtime.metrics)
    # Starlette tries routes in order: the busiest (health checks, Telegram's webhook, referral
    # links) come first, so they are not matched against every API route before.

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(
            FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses=problems.responses(503),
        response_model=dict[str, str],
    )
    async def readyz() -> Any:
        """Readiness: the database (and Redis, when configured) answer; 503 says which not.
        `telegram` is "ok", or "degraded" while Telegram does not answer ("unauthorized" if it
        refuses the token): HTTP is served either way, so that is never a 503."""
        checks = {"database": await _check(_database_answers(runtime))}
        if runtime.redis is not None:
            checks["redis"] = await _check(runtime.redis.ping())
        telegram = runtime.telegram.state
        if any(state != "ok" for state in checks.values()):
            failing = ", ".join(name for name, state in checks.items() if state != "ok")
            return problems.problem(
                503,
                f"Not ready: {failing} unreachable.",
                code="service.not_ready",
                checks={**checks, "telegram": telegram},
            )
        return {"status": "ready", "telegram": telegram}

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this process; the backlogs are read from the database now."""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await runtime.metrics.sample_backlogs(
                    runtime.session_factory, broker=runtime.broker is not None
                )
        except Exception as exc:  # the rest of the metrics are still worth scraping
            log.warning("backlog metrics not read: %s", type(exc).__name__)
        return Response(runtime.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    if webhook and runtime.settings.webhook_url:
        secret = runtime.webhook_secret

        @app.post(runtime.settings.webhook_path, include_in_schema=False)
        async def telegram_webhook(
            request: Request,
            x_telegram_bot_api_secret_token: str = Header(default=""),
        ) -> Response:
            if not hmac.compare_digest(x_telegram_bot_api_secret_token, secret):
                raise HTTPException(status_code=401, detail="bad secret token")
            # Parsed by pydantic-core straight from the bytes: no dict of the JSON first.
            update = Update.model_validate_json(await request.body(), context={"bot": runtime.bot})
            try:  # in its lane: payments ahead of the others, with connections of their own
                result = await runtime.lanes.feed(update)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # Rolled back; Telegram re-delivers on a non-2xx answer (to any instance).
                return Response(status_code=503, headers={"Retry-After": "1"})
            if isinstance(result, TelegramMethod):
                try:
                    await runtime.bot(result)
                except Exception:
                    log.exception("reply to update %s failed", update.update_id)
            return Response(status_code=200)

    if api:
        _include_api(app, runtime)
        include_dashboard(app, runtime)
        include_miniapp(app, runtime)
    return app


async def _database_answers(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check(probe: Awaitable[object]) -> str:
    """'ok', or why not (the kind of error only: messages may carry addresses)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await probe
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT:g}s"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _include_api(app: FastAPI, runtime: Runtime) -> None:
    limited = [Depends(limit_ip)]
    if "referrals" in runtime.settings.features:
        app.include_router(referrals_api.public, dependencies=limited)
        app.include_router(referrals_api.router, dependencies=limited)
    app.include_router(token_router, dependencies=limited)
    if "referrals" in runtime.settings.features:
        app.include_router(referrals_admin_api.router, dependencies=limited)
    if "lotteries" in runtime.settings.features:
        app.include_router(lotteries_admin_api.router, dependencies=limited)
    if "shop" in runtime.settings.features:
        app.include_router(shop_admin_api.router, dependencies=limited)
        app.include_router(shop_admin_api.callbacks)
    app.include_router(broadcasts_admin_api.router, dependencies=limited)
    if "classifieds" in runtime.settings.features:
        app.include_router(classifieds_admin_api.router, dependencies=limited)
    app.include_router(webhooks_api.router, dependencies=limited)
