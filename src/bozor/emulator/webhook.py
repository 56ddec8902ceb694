"""Webhook delivery: POSTs updates to the bot like Telegram does.

Updates of one chat go out one at a time and in order; different chats are delivered
concurrently, at most ``max_connections`` at once. A failed delivery (non-2xx or a
connection error) is retried with exponential backoff and never dropped. A JSON or
multipart reply carrying a ``method`` field is executed as a Bot API call, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from .params import Params, Upload
from .state import BotState, UpdateEntry, WebhookConfig, now

Execute = Callable[[BotState, str, Params], Awaitable[Any]]

BACKOFF_START = 0.05
BACKOFF_MAX = 2.0


class WebhookDeliverer:
    def __init__(
        self,
        bot: BotState,
        config: WebhookConfig,
        session: aiohttp.ClientSession,
        execute: Execute,
    ) -> None:
        self.bot = bot
        self.config = config
        self.session = session
        self.execute = execute
        self.slots = asyncio.Semaphore(config.max_connections)
        self.backlogs: dict[int, deque[UpdateEntry]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.headers = {"Content-Type": "application/json"}
        if config.secret_token:
            self.headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token

    def kick(self) -> None:
        """Move queued updates into per-chat backlogs, starting workers as needed."""
        bot = self.bot
        for queue in (bot.redeliveries, bot.pending):
            while queue:
                entry = queue.popleft()
                bot.in_delivery += 1
                backlog = self.backlogs.get(entry.chat_key)
                if backlog is None:
                    backlog = self.backlogs[entry.chat_key] = deque()
                    task = asyncio.get_running_loop().create_task(
                        self._worker(entry.chat_key, backlog)
                    )
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                backlog.append(entry)

    def stop(self) -> None:
        """Stop delivering; undelivered updates go back to the getUpdates queue."""
        for task in list(self.tasks):
            task.cancel()
        leftovers = sorted(
            (entry for backlog in self.backlogs.values() for entry in backlog),
            key=lambda e: e.update_id,
        )
        self.backlogs.clear()
        self.bot.in_delivery = 0
        self.bot.pending.extendleft(reversed(leftovers))

    async def _worker(self, key: int, backlog: deque[UpdateEntry]) -> None:
        while backlog:
            await self._deliver(backlog[0])
            backlog.popleft()
            self.bot.in_delivery -= 1
        if self.backlogs.get(key) is backlog:
            del self.backlogs[key]

    async def _deliver(self, entry: UpdateEntry) -> None:
        delay = BACKOFF_START
        stats = self.bot.stats
        while True:
            async with self.slots:
                url = self.bot.next_webhook_url(self.config.url)
                try:
                    async with self.session.post(
                        url, data=entry.body.encode(), headers=self.headers
                    ) as resp:
                        if 200 <= resp.status < 300:
                            stats.webhook_deliveries += 1
                            if self.bot.webhook_targets:
                                counts = self.bot.webhook_target_deliveries
                                counts[url] = counts.get(url, 0) + 1
                            await self._handle_reply(resp)
                            return
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"Connection failed: {type(exc).__name__}: {exc}"
            stats.webhook_failures += 1
            self.config.last_error_date = now()
            self.config.last_error_message = error
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _handle_reply(self, resp: aiohttp.ClientResponse) -> None:
        content_type = resp.content_type
        data: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        if content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = json.loads(await resp.read() or b"null")
                if isinstance(body, dict):
                    data = body
        elif content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                    continue
                if part.filename:
                    files[part.name] = Upload(
                        part.filename, part.headers.get("Content-Type"), bytes(await part.read())
                    )
                else:
                    data[part.name] = await part.text()
        method = data.pop("method", None)
        if isinstance(method, str) and method:
            # Errors of webhook-reply calls are not reported anywhere, like in Telegram.
            await self.execute(self.bot, method, Params(data, files))
