"""create_app(): the FastAPI application served by `bozor run`."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from aiogram.methods import TelegramMethod
from aiogram.types import Update
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from sqlalchemy import text

from bozor.api import problems
from bozor.api.limits import limit_ip, limits_from
from bozor.api.tokens import router as token_router
from bozor.lotteries import admin_api as lotteries_admin_api
from bozor.referrals import admin_api as referrals_admin_api
from bozor.referrals import api as referrals_api
from bozor.webhooks import api as webhooks_api

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, api: bool = True, webhook: bool = True) -> FastAPI:
    """The HTTP app: the REST API (`api`) and Telegram's webhook endpoint (`webhook`, when
    WEBHOOK_URL is set); health checks always."""
    app = FastAPI(
        title="Bozor",
        version="0.1.0",
        summary="Referrals for your app, on the same graph as the Telegram bot.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.limits = limits_from(runtime.settings, runtime.redis)
    problems.install(app)
    # Starlette tries routes in order: the busiest (health checks, Telegram's webhook, referral
    # links) come first, so they are not matched against every API route before.

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> dict[str, str]:
        """Readiness: the database (and Redis, when configured) answer."""
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        if runtime.redis is not None:
            await runtime.redis.ping()
        return {"status": "ready"}

    if webhook and runtime.settings.webhook_url:
        secret = runtime.webhook_secret

        @app.post(runtime.settings.webhook_path, include_in_schema=False)
        async def telegram_webhook(
            request: Request,
            x_telegram_bot_api_secret_token: str = Header(default=""),
        ) -> Response:
            if not hmac.compare_digest(x_telegram_bot_api_secret_token, secret):
                raise HTTPException(status_code=401, detail="bad secret token")
            payload: dict[str, Any] = await request.json()
            update = Update.model_validate(payload, context={"bot": runtime.bot})
            result = await runtime.dispatcher.feed_update(runtime.bot, update)
            if isinstance(result, TelegramMethod):
                try:
                    await runtime.bot(result)
                except Exception:
                    log.exception("reply to update %s failed", update.update_id)
            return Response(status_code=200)

    if api:
        _include_api(app, runtime)
    return app


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
    app.include_router(webhooks_api.router, dependencies=limited)
