"""Text compression for what browsers load from the emulator: the web chat (page, script,
style, config), the login page and the control API's answers to the chat. The Bot API (the
bot's own calls and file downloads) is left as Telegram serves it to bots, and so is anything
small or not text (photos)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

MINIMUM_SIZE = 1024  # bytes; below one packet, compressing saves nothing worth its CPU
_TEXT = ("text/", "application/json", "image/svg+xml")
_BOT_API = ("/bot", "/file/bot")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def compress_text(request: web.Request, handler: Handler) -> web.StreamResponse:
    """gzip or deflate (as the request accepts) for a text answer of MINIMUM_SIZE or more."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and not request.path.startswith(_BOT_API)
        and response.content_type.startswith(_TEXT)
        and response.body is not None
        and len(response.body) >= MINIMUM_SIZE  # type: ignore[arg-type]
    ):
        response.enable_compression()
    return response
