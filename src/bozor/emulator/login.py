"""Playing Telegram's Login Widget (https://core.telegram.org/widgets/login).

`POST /control/bots/{token}/login {user_id, auth_date?}` answers what the widget would send
for that user, signed with the bot's token. `GET /oauth?bot_id=&return_to=` is the page the
widget would open: it lists the emulator's users, and choosing one goes back to `return_to`
with the signed answer in the query, as Telegram's redirect does. No script, so it works in
any browser and offline.
"""

from __future__ import annotations

import time
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bozor import telegram_login

from .state import BotState, User
from .users import ControlError

if TYPE_CHECKING:
    from .server import Emulator


def login_answer(bot: BotState, user: User, auth_date: int | None = None) -> dict[str, str]:
    """The widget's answer for `user`, signed with the bot's token."""
    return telegram_login.signed(
        bot.token,
        {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "username": user.username,
            "auth_date": int(time.time()) if auth_date is None else auth_date,
        },
    )


def login_routes(emu: Emulator) -> list[web.RouteDef]:
    async def control_login(request: web.Request) -> web.Response:
        bot = emu.bot(request.match_info["token"])
        if bot is None:
            raise ControlError(404, "unknown bot token (register it with POST /control/bots)")
        body: dict[str, Any] = await request.json() if request.can_read_body else {}
        user = emu.users.user(int(body["user_id"]))
        auth_date = body.get("auth_date")
        return web.json_response(
            login_answer(bot, user, None if auth_date is None else int(auth_date))
        )

    async def guarded(request: web.Request) -> web.Response:
        try:
            return await control_login(request)
        except ControlError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)

    async def page(request: web.Request) -> web.Response:
        bot_id = request.query.get("bot_id", "")
        return_to = request.query.get("return_to", "")
        bot = next((b for b in emu.state.bots.values() if str(b.user.id) == bot_id), None)
        if bot is None or urlsplit(return_to).scheme not in ("http", "https"):
            return web.Response(status=400, text="bot_id (a registered bot) and return_to needed")
        items = []
        for user in emu.state.users.values():
            if user.is_bot:
                continue
            link = (
                f"{return_to}{'&' if '?' in return_to else '?'}{urlencode(login_answer(bot, user))}"
            )
            who = " ".join(p for p in (user.first_name, user.last_name) if p)
            handle = f" @{user.username}" if user.username else ""
            items.append(
                f'<li><a href="{escape(link)}" data-user-id="{user.id}">{escape(who)}'
                f"<small>{escape(handle)} · {user.id}</small></a></li>"
            )
        html = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Log in with Telegram (emulator)</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}"
            "li{list-style:none;margin:.4rem 0}a{display:block;padding:.6rem .8rem;"
            "border:1px solid #ccd;border-radius:.5rem;text-decoration:none;color:#235}"
            "small{color:#667;margin-left:.4rem}</style></head><body>"
            f"<h1>Log in to {escape(bot.user.first_name)} with Telegram</h1>"
            "<p>The Bot API emulator plays Telegram's Login Widget: choose who you are. "
            f"The site receives your name and id, signed with the bot's token.</p>"
            f"<ul data-testid='login-users'>{''.join(items)}</ul></body></html>"
        )
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    return [
        web.post("/control/bots/{token}/login", guarded),
        web.get("/oauth", page),
    ]
