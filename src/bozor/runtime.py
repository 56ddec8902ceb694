"""One Bozor process: how it runs and stops (serve); what it holds is bozor.process.Runtime."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Sequence

import uvicorn
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter, TelegramUnauthorizedError
from sqlalchemy import make_url, select
from sqlalchemy.exc import DBAPIError

from bozor import features as known_features
from bozor import localtime, migrate
from bozor.api.app import create_app
from bozor.bot.common import register_commands
from bozor.botidentity import service as identity_service
from bozor.botidentity.link import TRANSIENT, describe
from bozor.db import session_scope
from bozor.featurekit import Feature, read_settings
from bozor.miniapp.buttons import set_menu_button
from bozor.observability import metrics as metrics_module
from bozor.process import Runtime as Runtime  # re-exported: it was defined here
from bozor.process import channel_settings
from bozor.settings import Settings, SettingsError
from bozor.telegram import single_attempt
from bozor.updates import jobs as updates_jobs
from bozor.users.models import User

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0  # seconds in-flight updates get to finish

# What a process runs: `bozor run` all three; `bozor bot`, `bozor api`, `bozor worker` one each.
# "bot" receives updates (polling, or webhooks on the HTTP server), "api" serves the REST API,
# "worker" runs background work (the outbox, webhook deliveries, scheduled jobs).
ALL_ROLES = frozenset({"bot", "api", "worker"})


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    roles: frozenset[str] = ALL_ROLES,
    features: Sequence[Feature] | None = None,
) -> None:
    """Run the given roles until `stop` is set: the bot (polling or webhook), the HTTP server
    (API and webhook endpoint) and the background workers. `features`: the manifests to run
    (default: those FEATURES enables, see bozor.features)."""
    if features is None:
        features = known_features.enabled(settings)
    read_settings(settings, features)  # a wrong value of an enabled feature's stops start-up
    runtime = Runtime.create(settings, features)
    metrics_module.current.set(runtime.metrics)  # the tasks started below inherit it
    localtime.use(settings.timezone)  # so do they the community's time zone
    bot_role = "bot" in roles
    try:
        telegram_up = await _check_connections(runtime, roles)
        # The worker listens for the other instances' commits; the other roles tell it theirs.
        runtime.tasks.append(
            asyncio.create_task(
                runtime.wake.run(stop, listen="worker" in roles), name="outbox-wake"
            )
        )
        server: uvicorn.Server | None = None
        # A worker alone serves the operations endpoints (/healthz, /readyz, /metrics) too.
        if "api" in roles or "worker" in roles or (bot_role and settings.webhook_url):
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(runtime, api="api" in roles, webhook=bot_role),
                    host=settings.http_host,
                    port=settings.http_port,
                    log_level="warning",
                    lifespan="off",
                    proxy_headers=bool(settings.trusted_proxies),
                    forwarded_allow_ips=settings.trusted_proxies or None,
                )
            )
            runtime.tasks.append(asyncio.create_task(server.serve(), name="http"))
            for service in runtime.services:
                runtime.tasks.append(
                    asyncio.create_task(service.run(stop), name=type(service).__name__)
                )
        if "worker" in roles:
            runtime.tasks.append(asyncio.create_task(runtime.outbox.run(stop), name="outbox"))
            runtime.tasks.append(asyncio.create_task(runtime.webhooks.run(stop), name="webhooks"))
            runtime.tasks.append(
                asyncio.create_task(
                    updates_jobs.run(runtime.session_factory, stop), name="processed-updates"
                )
            )
            runtime.tasks.append(
                asyncio.create_task(runtime.broadcasts.run(stop), name="broadcasts")
            )
            if runtime.broker is not None:
                runtime.tasks.append(asyncio.create_task(runtime.broker.run(stop), name="broker"))
            for feature in runtime.features:
                for job in feature.jobs:
                    runtime.tasks.append(
                        asyncio.create_task(job.run(runtime, stop), name=f"{job.name}-jobs")
                    )
        # The Telegram side: at once when Telegram answered, else once it does.
        if not (telegram_up and await _telegram_side(runtime, roles, starting=True)):
            runtime.tasks.append(
                asyncio.create_task(_telegram_side_when_up(runtime, roles, stop), name="telegram")
            )
        runtime.tasks.append(asyncio.create_task(runtime.telegram.run(stop), name="bot-identity"))
        # Start-up built a large, long-lived object graph (aiogram's ~1,000 pydantic types);
        # freezing it keeps every later full collection from walking it again.
        gc.collect()
        gc.freeze()
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping")
        if server is not None:
            server.should_exit = True
        if (polling := runtime.polling) is not None:
            polling.cancel()  # what it had not taken stays in Telegram's queue
            [ended] = await asyncio.gather(polling, return_exceptions=True)
            if not isinstance(ended, asyncio.CancelledError | None):
                log.error("polling failed", exc_info=ended)
        await _finish_in_flight(runtime)
        done, pending = (
            await asyncio.wait(runtime.tasks, timeout=SHUTDOWN_GRACE)
            if runtime.tasks
            else (set(), set())
        )
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("task %s failed", task.get_name(), exc_info=task.exception())
        # After the HTTP server has answered its last request: no answered click is lost.
        for service in runtime.services:
            await service.flush()
    finally:
        await runtime.close()


async def _check_connections(runtime: Runtime, roles: frozenset[str]) -> bool:
    """Open the database (migrating it) and ask Telegram who the bot is, or stop with one line
    saying what is wrong. Telegram not answering is no reason to stop: the stored identity
    serves until it does (see bozor.botidentity.link); True if it answered."""
    settings = runtime.settings
    for feature in runtime.features:
        if feature.check_settings is not None:
            feature.check_settings(settings)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(runtime.engine)
        else:
            async with runtime.engine.connect():
                pass
    except (OSError, DBAPIError) as exc:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SettingsError(f"DATABASE_URL: cannot open {shown} ({reason})") from None
    try:
        answered = await runtime.telegram.start_up()
    except TelegramUnauthorizedError:
        raise SettingsError("BOT_TOKEN: Telegram refused this token (Unauthorized)") from None
    if answered:
        try:  # before the workers start: they address channels by id
            await _resolve_channels(runtime, strict=True)
        except (*TRANSIENT, TelegramRetryAfter) as exc:
            log.warning("Telegram set-up waits: %s", describe(exc))
            answered = False
    if not answered:
        await _use_known_channels(runtime)
    return answered


async def _use_known_channels(runtime: Runtime) -> None:
    """The channel ids Telegram gave for the @usernames before (resolved again once it
    answers)."""
    async with runtime.session_factory() as session:
        known = await identity_service.known_chats(session=session, bot_id=runtime.bot.id)
    for own, name in channel_settings(runtime.settings, runtime.features):
        channel = getattr(own, name)
        if channel and channel in known:
            own.resolve_channel(name, known[channel])


async def _telegram_side(runtime: Runtime, roles: frozenset[str], *, starting: bool) -> bool:
    """What needs Telegram: channel names resolved, the command menu and the webhook or
    polling (bot). False if Telegram stopped answering meanwhile (nothing is left half-done
    that a retry would not redo). `starting`: at start-up, with the usual retries, and a
    channel Telegram cannot find stops start-up; later, each call is tried once (the caller
    retries with back-off), and such a channel is logged and its @username kept."""
    try:
        with contextlib.nullcontext() if starting else single_attempt():
            await _resolve_channels(runtime, strict=starting)
            if "bot" in roles:
                await _register_commands(runtime)
                await _receive_updates(runtime)
    except (*TRANSIENT, TelegramRetryAfter) as exc:
        if starting:
            log.warning("Telegram set-up waits: %s", describe(exc))
            return False
        raise
    if "bot" in roles and not runtime.settings.webhook_url:
        # Outside single_attempt(): polling keeps its own retries.
        runtime.polling = asyncio.create_task(_poll(runtime), name="polling")
        log.info("long-polling mode")
    return True


async def _telegram_side_when_up(
    runtime: Runtime, roles: frozenset[str], stop: asyncio.Event
) -> None:
    """`_telegram_side`, retried with back-off and jitter until Telegram answers."""

    async def attempt() -> None:
        await _telegram_side(runtime, roles, starting=False)

    if await runtime.telegram.wait_up(stop, attempt):
        log.info("Telegram side started")


async def _register_commands(runtime: Runtime) -> None:
    try:
        admins = await _admins_with_a_chat(runtime)
        await register_commands(runtime.bot, runtime.features, admins)
        await set_menu_button(runtime.bot, runtime.settings)
    except (*TRANSIENT, TelegramRetryAfter):
        raise
    except Exception:
        log.exception("could not register the command menu; continuing")


async def _admins_with_a_chat(runtime: Runtime) -> list[int]:
    """The admins who have started the bot (not blocked since): Telegram refuses a chat
    scope for anyone else; the others get their commands when they send /start."""
    admin_ids = runtime.settings.admin_ids
    if not admin_ids:
        return []
    async with runtime.session_factory() as session:
        found = await session.scalars(
            select(User.telegram_id).where(
                User.telegram_id.in_(admin_ids), User.is_blocked.is_(False)
            )
        )
        return [telegram_id for telegram_id in found if telegram_id is not None]


async def _receive_updates(runtime: Runtime) -> None:
    """Point Telegram at the webhook, or clear it for polling."""
    settings = runtime.settings
    if settings.webhook_url:
        await runtime.bot.set_webhook(
            url=settings.webhook_url + settings.webhook_path,
            secret_token=runtime.webhook_secret,
            allowed_updates=runtime.dispatcher.resolve_used_update_types(),
        )
        log.info("webhook mode: %s%s", settings.webhook_url, settings.webhook_path)
    else:
        await runtime.bot.delete_webhook()


async def _resolve_channels(runtime: Runtime, *, strict: bool) -> None:
    """A channel named by @username becomes its id, which the outbox addresses. The settings
    object is shared by every part of this process, so all of them see the id. The ids are
    kept, so that a start-up without Telegram still knows them."""
    bot_id = runtime.bot.id
    for own, name in channel_settings(runtime.settings, runtime.features):
        channel = getattr(own, name)
        if not channel or not channel.startswith("@"):
            continue
        try:
            chat = await runtime.bot.get_chat(channel)
        except TRANSIENT:
            async with runtime.session_factory() as session:
                known = await identity_service.known_chats(session=session, bot_id=bot_id)
            if channel not in known:
                raise
            own.resolve_channel(name, known[channel])
            continue
        except TelegramAPIError as exc:
            message = f"{own.variable(name)}: Telegram cannot find {channel} ({exc.message})"
            if strict:
                raise SettingsError(message) from None
            log.error("%s; the @username is kept", message)
            continue
        own.resolve_channel(name, chat.id)
        async with session_scope(runtime.session_factory) as session:
            await identity_service.remember_chat(
                session=session, bot_id=bot_id, name=channel, chat_id=chat.id
            )


async def _poll(runtime: Runtime) -> None:
    """Long polling into the update lanes (payments ahead of the backlog)."""
    me = await runtime.bot.me()
    log.info("polling for @%s", me.username)
    await runtime.lanes.poll(
        polling_timeout=10, allowed_updates=runtime.dispatcher.resolve_used_update_types()
    )


async def _finish_in_flight(runtime: Runtime) -> None:
    """Updates taken from Telegram are finished (it will not deliver them again)."""
    await runtime.lanes.drain(SHUTDOWN_GRACE)
