"""Mini Apps in the emulator: what a Telegram client does when a user opens one (from the menu
button or a web_app button) — the app's URL with launch parameters in its fragment, among them
`initData` signed with the bot's token exactly as Telegram signs it — and the invoice behind an
invoice link, which the client shows before the user pays (`openInvoice`).

Control routes (prefix ``/control/bots/{token}``)::

    POST /web-apps                 {user_id, url, theme_params?, platform?}: the URL to load
    GET  /invoice-links/{slug}     the invoice an invoice link stands for
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bozor.telegram_webapp import sign

from .botapi import ApiError, web_app_url
from .state import BotState
from .users import ControlError

if TYPE_CHECKING:
    from .server import Emulator

BOT_API_VERSION = "7.10"  # tgWebAppVersion: what the client says it supports


def launch_url(
    bot: BotState, user: dict[str, Any], url: str, *, theme: dict[str, str], platform: str
) -> str:
    """`url` with Telegram's launch parameters in its fragment, initData signed for `user`."""
    init_data = sign(
        bot.token,
        {
            "query_id": "AA" + secrets.token_urlsafe(12),
            "user": {
                **{k: v for k, v in user.items() if k != "is_bot"},
                "allows_write_to_pm": True,
            },
            "auth_date": int(time.time()),
        },
    )
    fragment = urlencode(
        {
            "tgWebAppData": init_data,
            "tgWebAppVersion": BOT_API_VERSION,
            "tgWebAppPlatform": platform,
            "tgWebAppThemeParams": json.dumps(theme, separators=(",", ":")),
        }
    )
    return f"{url.split('#', 1)[0]}#{fragment}"


def webapp_routes(emu: Emulator) -> list[web.RouteDef]:
    def bot_of(request: web.Request) -> BotState:
        bot = emu.bot(request.match_info["token"])
        if bot is None:
            raise ControlError(404, "unknown bot token (register it with POST /control/bots)")
        return bot

    async def open_app(request: web.Request) -> web.Response:
        try:
            bot = bot_of(request)
            body = await request.json()
            if not isinstance(body, dict):
                raise ControlError(400, "the body must be a JSON object")
            user = emu.users.user(int(body.get("user_id") or 0))
            try:
                url = web_app_url({"url": body.get("url")}, "Web App")
            except ApiError as exc:
                raise ControlError(400, exc.description) from None
            theme = body.get("theme_params") or {}
            if not isinstance(theme, dict):
                raise ControlError(400, "theme_params must be an object")
            opened = launch_url(
                bot,
                user.json,
                url,
                theme={str(k): str(v) for k, v in theme.items()},
                platform=str(body.get("platform") or "web"),
            )
        except ControlError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except (ValueError, TypeError):
            return web.json_response({"error": "user_id must be an integer"}, status=400)
        return web.json_response({"url": opened})

    async def invoice_link(request: web.Request) -> web.Response:
        bot = emu.bot(request.match_info["token"])
        invoice = bot.invoice_links.get(request.match_info["slug"]) if bot else None
        if invoice is None:
            return web.json_response({"error": "unknown invoice link"}, status=404)
        return web.json_response(invoice.to_json())

    prefix = "/control/bots/{token}"
    return [
        web.post(f"{prefix}/web-apps", open_app),
        web.get(prefix + "/invoice-links/{slug}", invoice_link),
    ]
