"""Telegram's sending limits, shared by every sender: replies, the outbox, broadcasts.

A `Pacer` hands out send slots on one timeline: at most `rate` messages per second overall
(Telegram: about 30) and, per chat, one per `chat_interval` seconds in a private chat (or a
channel) and one per `group_interval` seconds in a group (Telegram: 20 a minute). A slot is
reserved (GCRA: the next free instant moves forward by 1/rate per slot), then the caller
sleeps until it, so sends are evenly spaced. A sender that fell behind (a slow database write
between two sends) may catch up by TOLERANCE seconds' worth of slots at once — a burst of
rate × TOLERANCE + 1, well inside Telegram's (and the emulator's) one second's worth — so
stalls do not lower the sustained rate. A 429 pauses the timeline for every sender until
retry_after has passed.

Each chat has a timeline of its own, a GCRA too: a caller passing `burst=n` may send up to n
messages to an idle chat at once, then one per interval. The outbox and broadcasts keep the
strict spacing (burst 1); a handler's replies use TELEGRAM_CHAT_BURST (3, through
telegram.ResilientRequests), so a reply and its follow-ups do not wait for each other —
Telegram allows a private chat short bursts above 1/s, and a reply that waits a second
for nothing is a slow bot.

In memory the timeline is this process's; with Redis it is one set of keys every instance
reserves from in one atomic script, on Redis's clock, so N instances together stay under the
limit and a 429 seen by one pauses all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bozor.telegram import FloodGate, slot_reserved

log = logging.getLogger(__name__)

TOLERANCE = 0.5  # seconds
GROUP_INTERVAL = 3.0  # seconds: Telegram's 20 messages a minute in a group

# Reserve, atomically: the chat must be free at the slot (its timeline no further ahead than
# its burst allows), else nothing is reserved and the caller learns how long the chat is
# busy. Floats go back as strings (Lua numbers become integers in replies). KEYS: global
# timeline, chat timeline, pause; ARGV: 1/rate, chat interval, tolerance (how far behind the
# timeline a late sender may catch up), chat tolerance ((burst - 1) × chat interval).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local chat_interval = tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
local tat = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'), paused)
local start = math.max(now, tat - tonumber(ARGV[3]), paused)
if KEYS[2] ~= '' then
  local chat_tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  local chat_free = chat_tat - tonumber(ARGV[4])
  if chat_free > start then
    return {'busy', tostring(chat_free - now)}
  end
  local next_tat = math.max(chat_tat, start) + chat_interval
  redis.call('SET', KEYS[2], tostring(next_tat),
             'PX', math.ceil((next_tat - now) * 1000) + 1000)
end
redis.call('SET', KEYS[1], tostring(tat + interval),
           'PX', math.ceil((tat - now + interval) * 1000) + 60000)
return {'ok', tostring(start - now)}
"""

# Pause: the timeline restarts no earlier than now + ARGV[1] seconds (never brought forward).
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local open_at = math.max(now + tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(open_at), 'PX', math.ceil((open_at - now) * 1000) + 1000)
return tostring(open_at - now)
"""


class ChatBusy(Exception):
    """The chat had a message too recently; `wait` seconds until it may get another."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"chat busy for {wait:.2f}s")
        self.wait = wait


class Pacer(Protocol):
    gate: FloodGate

    async def acquire(
        self, chat_id: int | None = None, *, max_chat_wait: float = 5.0, burst: int = 1
    ) -> None:
        """Wait for a send slot (for `chat_id`, when given); ChatBusy if the chat would make
        the caller wait longer than `max_chat_wait` (nothing is reserved then). `burst`: how
        many messages an idle chat may get at once."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: no sender may send for `seconds`."""


ChannelTest = Callable[[int], bool]


class ChatLimits:
    """The interval between two messages to a chat: groups get Telegram's 20 a minute; a
    private chat, and a channel Bozor posts to, `chat_interval` (a chat id does not tell a
    channel from a supergroup, hence `is_channel`)."""

    def __init__(
        self,
        chat_interval: float,
        group_interval: float = GROUP_INTERVAL,
        is_channel: ChannelTest | None = None,
    ) -> None:
        self.chat_interval = chat_interval
        self.group_interval = max(group_interval, chat_interval)
        self.is_channel = is_channel

    def interval(self, chat_id: int) -> float:
        if chat_id > 0 or (self.is_channel is not None and self.is_channel(chat_id)):
            return self.chat_interval
        return self.group_interval


class MemoryPacer:
    """The timeline of one process."""

    def __init__(
        self,
        rate: float,
        chat_interval: float,
        gate: FloodGate | None = None,
        *,
        group_interval: float = GROUP_INTERVAL,
        is_channel: ChannelTest | None = None,
    ) -> None:
        self.interval = 1.0 / rate
        self.chat_interval = chat_interval
        self.limits = ChatLimits(chat_interval, group_interval, is_channel)
        self.gate = gate or FloodGate()
        self._next = 0.0
        self._chats: dict[int, float] = {}  # chat -> its theoretical arrival time (GCRA)

    async def acquire(
        self, chat_id: int | None = None, *, max_chat_wait: float = 5.0, burst: int = 1
    ) -> None:
        chat_interval = self.limits.interval(chat_id) if chat_id is not None else 0.0
        chat_tolerance = (max(burst, 1) - 1) * chat_interval
        chat_tat = 0.0
        while True:
            now = time.monotonic()
            tat = max(now, self._next, self.gate.open_at)
            start = max(now, tat - TOLERANCE, self.gate.open_at)
            chat_tat = self._chats.get(chat_id, 0.0) if chat_id is not None else 0.0
            free = chat_tat - chat_tolerance
            if free <= start:
                break
            if free - now > max_chat_wait:
                raise ChatBusy(free - now)
            await asyncio.sleep(free - now)
        self._next = tat + self.interval
        if chat_id is not None:
            self._chats[chat_id] = max(chat_tat, start) + chat_interval
            if len(self._chats) > 100_000:  # forget chats that are free again
                self._chats = {c: at for c, at in self._chats.items() if at > now}
        slot_reserved(chat_id)
        if start > now:
            await asyncio.sleep(start - now)

    async def pause(self, seconds: float) -> None:
        self.gate.close_for(seconds)


class RedisPacer:
    """The timeline of every instance sharing this Redis and prefix."""

    def __init__(
        self,
        redis: Redis,
        rate: float,
        chat_interval: float,
        *,
        prefix: str = "bozor",
        gate: FloodGate | None = None,
        group_interval: float = GROUP_INTERVAL,
        is_channel: ChannelTest | None = None,
    ) -> None:
        self.redis = redis
        self.interval = 1.0 / rate
        self.chat_interval = chat_interval
        self.limits = ChatLimits(chat_interval, group_interval, is_channel)
        self.prefix = f"{prefix}:pace"
        self.gate = gate or FloodGate()
        # A 429 the resilient requests middleware met (outbox, replies) pauses every instance.
        self.gate.on_close = self._publish_in_background
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)
        self._tasks: set[asyncio.Task[None]] = set()
        # While Redis does not answer, this instance paces on its own timeline: a lost Redis
        # connection must not lose the message being sent.
        self._local = MemoryPacer(
            rate, chat_interval, self.gate, group_interval=group_interval, is_channel=is_channel
        )
        self._redis_down = False

    async def acquire(
        self, chat_id: int | None = None, *, max_chat_wait: float = 5.0, burst: int = 1
    ) -> None:
        try:
            await self._acquire_shared(chat_id, max_chat_wait=max_chat_wait, burst=burst)
        except (RedisError, OSError) as exc:
            if not self._redis_down:
                log.warning("Redis pacing unavailable (%r): this instance paces alone", exc)
                self._redis_down = True
            await self._local.acquire(chat_id, max_chat_wait=max_chat_wait, burst=burst)
            return
        if self._redis_down:
            log.warning("Redis pacing answers again")
            self._redis_down = False

    async def _acquire_shared(
        self, chat_id: int | None, *, max_chat_wait: float, burst: int
    ) -> None:
        chat_key = f"{self.prefix}:chat:{chat_id}" if chat_id is not None else ""
        chat_interval = self.limits.interval(chat_id) if chat_id is not None else 0.0
        chat_tolerance = (max(burst, 1) - 1) * chat_interval
        while True:
            verdict, value = await self._reserve(
                keys=[f"{self.prefix}:next", chat_key, f"{self.prefix}:paused"],
                args=[
                    repr(self.interval),
                    repr(chat_interval),
                    repr(TOLERANCE),
                    repr(chat_tolerance),
                ],
            )
            wait = float(value)
            if verdict == b"ok":
                break
            if wait > max_chat_wait:
                raise ChatBusy(wait)
            await asyncio.sleep(wait)
        slot_reserved(chat_id)
        if wait > 0:
            await asyncio.sleep(wait)
        # A pause another sender of this process saw meanwhile (the resilient requests
        # middleware waits on the same gate before every call).
        await self.gate.wait()

    async def pause(self, seconds: float) -> None:
        self.gate.close_for(seconds, notify=False)
        await self._publish(seconds)

    async def _publish(self, seconds: float) -> None:
        await self._pause(keys=[f"{self.prefix}:paused"], args=[repr(float(seconds))])

    async def _publish_quietly(self, seconds: float) -> None:
        try:
            await self._publish(seconds)
        except (RedisError, OSError) as exc:  # this instance pauses all the same
            log.warning("429 pause not shared through Redis: %r", exc)

    def _publish_in_background(self, seconds: float) -> None:
        task = asyncio.create_task(self._publish_quietly(seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def create_pacer(
    rate: float,
    chat_interval: float,
    redis: Redis | None,
    *,
    prefix: str = "bozor",
    group_interval: float = GROUP_INTERVAL,
    is_channel: ChannelTest | None = None,
) -> Pacer:
    """Shared through Redis when there is one, else this process's own."""
    if redis is not None:
        return RedisPacer(
            redis,
            rate,
            chat_interval,
            prefix=prefix,
            group_interval=group_interval,
            is_channel=is_channel,
        )
    return MemoryPacer(rate, chat_interval, group_interval=group_interval, is_channel=is_channel)
