"""The HTTP server: Bot API routes, file downloads and the control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from .botapi import BotApi
from .control import control_routes
from .errors import (
    DEFAULT_FAULT_DESCRIPTIONS,
    METHOD_NOT_FOUND,
    POLL_CONFLICT,
    UNAUTHORIZED,
    WEBHOOK_ACTIVE,
    ApiError,
    bad_request,
    gateway_page,
)
from .login import login_routes
from .params import Params, Upload
from .state import FAULT_BODIES, BotState, EmulatorState, Fault, UpdateEntry
from .users import UserActions
from .webapps import webapp_routes
from .webchat import webchat_routes
from .webhook import WebhookDeliverer

MAX_BODY = 64 * 1024 * 1024
_JSON = "application/json"


class _Raw(str):
    """An already serialised JSON result."""

    __slots__ = ()


class _Html(str):
    """An HTML error page (an injected gateway failure)."""

    __slots__ = ()


_RESET = object()  # an injected fault: the connection is closed unanswered


class Emulator:
    """A Telegram Bot API emulator on a real HTTP server.

    ``async with Emulator() as emu:`` starts it on a free port of 127.0.0.1; point aiogram
    at ``TelegramAPIServer.from_base(emu.url)`` and drive users with ``EmulatorDriver``.
    """

    def __init__(
        self,
        *,
        auto_register_bots: bool = True,
        rate_limits: bool = False,
        faults: Sequence[FaultSpec] = (),
    ) -> None:
        self.state = EmulatorState(auto_register_bots=auto_register_bots)
        self.rate_limits = rate_limits
        # Faults every bot starts with (and gets back on reset): `bozor emulator --fault`.
        self.default_faults = tuple(faults)
        self.api = BotApi(self.state, self._webhook_changed)
        self.users = UserActions(self.state)
        self.deliverers: dict[str, WebhookDeliverer] = {}
        # What the web chat (/chat/) offers; see emulator/webchat. None: nothing to show.
        self.webchat: dict[str, Any] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self.app.router.add_routes(control_routes(self))
        self.app.router.add_routes(webchat_routes(self))
        self.app.router.add_routes(webapp_routes(self))
        self.app.router.add_routes(login_routes(self))

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not running; await start() first")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60),
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self._url = f"http://{shown}:{bound_port}"

    async def stop(self) -> None:
        for deliverer in self.deliverers.values():
            deliverer.stop()
        self.deliverers.clear()
        for bot in self.state.bots.values():
            # Wake long polls so shutdown does not wait for their timeouts.
            if bot.poll_waiter is not None and not bot.poll_waiter.done():
                bot.poll_waiter.set_result(None)
            for log in bot.logs.values():
                if log.waiters:
                    log.changed()
            for query in (*bot.callbacks.values(), *bot.pre_checkouts.values()):
                query.answered.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._url = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def reset(self) -> None:
        for deliverer in self.deliverers.values():
            deliverer.stop()
        self.deliverers.clear()
        self.state.reset()
        for bot in self.state.bots.values():
            self._set_up(bot)

    def bot(self, token: str) -> BotState | None:
        known = token in self.state.bots
        bot = self.state.bot(token)
        if bot is not None and not known:
            self._set_up(bot)
        return bot

    def _set_up(self, bot: BotState) -> None:
        bot.limiter.enabled = self.rate_limits
        for spec in self.default_faults:
            self.add_fault(
                bot, spec.method, spec.error_code, rate=spec.rate, body=spec.body, times=1
            )

    # ------------------------------------------------------------- Bot API

    async def call(self, bot: BotState, method: str, params: Params) -> tuple[int, Any]:
        """Run one Bot API method; returns ``(http_status, result_or_error_body)``."""
        key = method.lower()
        handler = self.api.methods.get(key)
        if handler is None and key != "getupdates":
            return 404, METHOD_NOT_FOUND.to_json()
        stats = bot.stats
        name = self.api.names[key]
        stats.requests[name] = stats.requests.get(name, 0) + 1
        try:
            if bot.latency:
                await asyncio.sleep(bot.latency)
            if bot.faults and (injected := self._check_faults(bot, key, params)) is not None:
                stats.errors[injected[0]] = stats.errors.get(injected[0], 0) + 1
                return injected
            if handler is None:
                result: Any = await self._get_updates(bot, params)
            else:
                result = handler(bot, params)
        except ApiError as exc:
            stats.errors[exc.error_code] = stats.errors.get(exc.error_code, 0) + 1
            return exc.error_code, exc.to_json()
        return 200, result

    def _check_faults(self, bot: BotState, key: str, params: Params) -> tuple[int, Any] | None:
        """Raises the Bot API error of the first fault that fires; an HTML page or a reset
        connection is returned instead, for the HTTP layer to answer."""
        for fault in bot.faults:
            if fault.method not in (key, "*"):
                continue
            if fault.chat_id is not None and str(params.raw("chat_id")) != str(fault.chat_id):
                continue
            if fault.rate is not None:
                if bot.random.random() >= fault.rate:
                    continue
            else:
                fault.times -= 1
                if fault.times <= 0:
                    bot.faults.remove(fault)
            bot.stats.faults_injected += 1
            if fault.body == "html":
                return fault.error_code, _Html(gateway_page(fault.error_code))
            if fault.body == "reset":
                return 0, _RESET
            parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
            if fault.error_code == 429:
                bot.stats.rate_limited += 1
            raise ApiError(fault.error_code, fault.description, parameters)
        return None

    def add_fault(
        self,
        bot: BotState,
        method: str,
        error_code: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        rate: float | None = None,
        body: str = "json",
    ) -> Fault:
        if body not in FAULT_BODIES:
            raise ValueError(f"body must be one of {', '.join(FAULT_BODIES)}")
        if rate is not None and not 0 < rate <= 1:
            raise ValueError("rate must be in (0, 1]")
        if error_code == 429 and not retry_after:
            retry_after = 1
        if description is None:
            template = DEFAULT_FAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
            description = template.format(retry_after=retry_after)
        fault = Fault(
            method.lower(), error_code, description, times, chat_id, retry_after, rate, body
        )
        bot.faults.append(fault)
        return fault

    async def _get_updates(self, bot: BotState, p: Params) -> _Raw:
        if bot.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        allowed = p.json("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = frozenset(map(str, allowed)) if allowed else None
        pending = bot.pending
        if offset > 0:
            while pending and pending[0].update_id < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()
        if not pending and not bot.redeliveries and timeout > 0:
            previous = bot.poll_waiter
            if previous is not None and not previous.done():
                previous.set_result(False)  # the older request loses, like Telegram
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            bot.poll_waiter = waiter
            waiters = bot.updates_changed.waiters
            waiters.append(waiter)
            try:
                await asyncio.wait((waiter,), timeout=timeout)
            finally:
                if bot.poll_waiter is waiter:
                    bot.poll_waiter = None
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        waiters.remove(waiter)
            if not waiter.cancelled() and waiter.result() is False:
                raise ApiError(409, POLL_CONFLICT)
            if bot.webhook is not None:
                raise ApiError(409, WEBHOOK_ACTIVE)
        pending = bot.pending  # reset() may have replaced the queue meanwhile
        entries: list[UpdateEntry] = []
        while bot.redeliveries and len(entries) < limit:
            entries.append(bot.redeliveries.popleft())
        entries.extend(islice(pending, limit - len(entries)))
        return _Raw("[" + ",".join(e.body for e in entries) + "]")

    def _webhook_changed(self, bot: BotState) -> None:
        old = self.deliverers.pop(bot.token, None)
        if old is not None:
            old.stop()
        for waiter in list(bot.updates_changed.waiters):
            if not waiter.done():
                waiter.set_result(None)
        if bot.webhook is not None:
            assert self._session is not None
            deliverer = WebhookDeliverer(bot, bot.webhook, self._session, self.call)
            self.deliverers[bot.token] = deliverer
            bot.on_update = deliverer.kick
            deliverer.kick()
        else:
            bot.on_update = None

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        bot = self.bot(request.match_info["token"])
        if bot is None:
            return _json_response(401, UNAUTHORIZED.to_json())
        try:
            params = await read_params(request)
        except ApiError as exc:
            return _json_response(exc.error_code, exc.to_json())
        status, result = await self.call(bot, request.match_info["method"], params)
        if isinstance(result, _Html):
            return web.Response(status=status, text=result, content_type="text/html")
        if result is _RESET:
            if request.transport is not None:
                request.transport.abort()  # no answer at all: the client sees a reset
            raise web.HTTPInternalServerError  # never written: the connection is gone
        if status != 200:
            return _json_response(status, result)
        if isinstance(result, _Raw):
            body = '{"ok":true,"result":' + result + "}"
        else:
            body = json.dumps({"ok": True, "result": result}, ensure_ascii=False)
        return web.Response(body=body.encode(), content_type=_JSON)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if self.bot(request.match_info["token"]) is None:
            return _json_response(401, UNAUTHORIZED.to_json())
        stored = self.state.files.by_path.get(request.match_info["path"])
        if stored is None:
            return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


async def read_params(request: web.Request) -> Params:
    """Query string plus a JSON, urlencoded or multipart body."""
    data: dict[str, Any] = dict(request.query) if request.query_string else {}
    files: dict[str, Upload] = {}
    if request.can_read_body:
        content_type = request.content_type
        if content_type == _JSON:
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if isinstance(body, dict):
                data.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    data[key] = value
    return Params(data, files)


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body, ensure_ascii=False).encode(), content_type=_JSON
    )


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A share of a method's calls that fail, from the start: `METHOD:CODE[:BODY]:RATE`
    (``sendMessage:502:html:0.05``); BODY is json (default), html or reset."""

    method: str
    error_code: int
    rate: float
    body: str = "json"

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        parts = text.split(":")
        if len(parts) == 3:
            parts.insert(2, "json")
        if len(parts) != 4 or parts[2] not in FAULT_BODIES:
            raise ValueError(f"a fault is METHOD:CODE[:json|html|reset]:RATE, not {text!r}")
        method, code, body, rate = parts
        try:
            spec = cls(method, int(code), float(rate), body)
        except ValueError:
            raise ValueError(
                f"a fault is METHOD:CODE[:json|html|reset]:RATE, not {text!r}"
            ) from None
        if not 0 < spec.rate <= 1:
            raise ValueError(f"the rate of {text!r} must be in (0, 1]")
        return spec


def run_emulator(
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    rate_limits: bool = False,
    faults: Sequence[FaultSpec] = (),
) -> None:
    """Run the emulator until SIGINT/SIGTERM (the ``bozor emulator`` command)."""

    async def main() -> None:
        emulator = Emulator(rate_limits=rate_limits, faults=faults)
        await emulator.start(host, port)
        print(f"Telegram Bot API emulator listening on {emulator.url}", flush=True)
        print(f"  Bot API:     {emulator.url}/bot<token>/<method>", flush=True)
        print(f"  control API: {emulator.url}/control/...", flush=True)
        if rate_limits:
            print("  Telegram's flood limits: on", flush=True)
        for spec in faults:
            print(
                f"  faults: {spec.rate:.0%} of {spec.method} fail with {spec.error_code}"
                f" ({spec.body})",
                flush=True,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await emulator.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
