"""The web chat: a Telegram-like page in the browser in front of the control API.

`GET /chat/` serves the page; its script plays the users through the control API on the same
server, so a bot behind the emulator runs exactly as it would with Telegram. What the page
offers (which users one can be, which bot, channels, its texts in each language) comes from
`Emulator.webchat`, set by whoever starts the emulator (`bozor demo` does); without it the page
says there is nothing to show.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bozor.emulator.server import Emulator

_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
_FILES = frozenset({"chat.js", "chat.css", "miniapp-panel.js", "miniapp-panel.css"})


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def webchat_routes(emu: Emulator) -> list[web.RouteDef]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(
            body=_static("chat.html"),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPFound("/chat/")

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _FILES:
            raise web.HTTPNotFound()
        return web.Response(
            body=_static(name),
            content_type=_TYPES[name[name.rfind(".") :]],
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def favicon(request: web.Request) -> web.Response:
        return web.Response(
            body=resources.files("bozor").joinpath("static", "favicon.svg").read_bytes(),
            content_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def config(request: web.Request) -> web.Response:
        if emu.webchat is None:
            return web.json_response(
                {"error": "no web chat configured: start it with `bozor demo`"}, status=404
            )
        return web.Response(
            body=json.dumps(emu.webchat, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    return [
        web.get("/chat", to_page),
        web.get("/chat/", page),
        web.get("/chat/config.json", config),
        web.get("/chat/static/{name}", asset),
        web.get("/favicon.ico", favicon),
    ]
