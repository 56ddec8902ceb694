"""In-memory state of the emulator: bots, users, chats, messages, updates, files, payments.

Everything is stored as ready-to-serialise Telegram JSON (plain dicts) so hot paths do not
convert objects on every request. Messages live in one ``ChatLog`` per (bot, chat), so
looking a message up, editing it or waiting for the next one never scans other chats.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
REFUSED_KEPT = 100  # refused calls a bot's stats keep

TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]{20,}$")
USER_ID_BASE = 100_000_000
SUPERGROUP_ID_BASE = -1_001_000_000_000
GROUP_ID_BASE = -900_000_000
UPDATE_LOG_SIZE = 20_000
# Telegram's default allowed_updates: everything except these.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
PRESENT_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})


def now() -> int:
    return int(time.time())


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    is_bot: bool = False
    phone_number: str | None = None
    json: JSON = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        self.json = data


@dataclass(slots=True)
class Chat:
    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    json: JSON = field(default_factory=dict)

    def __post_init__(self) -> None:
        data: JSON = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        if self.first_name is not None:
            data["first_name"] = self.first_name
        if self.last_name:
            data["last_name"] = self.last_name
        self.json = data

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def status(self, user_id: int) -> str:
        if self.is_private:
            return "member" if user_id == self.id else "left"
        return self.members.get(user_id, "left")

    def full_info(self) -> JSON:
        data = dict(self.json)
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data


def sent_by_bot(message: JSON, bot_id: int) -> bool:
    """Whether the bot wrote it (channel posts carry ``sender_chat`` instead of ``from``)."""
    sender = message.get("from")
    if sender is not None:
        return bool(sender["id"] == bot_id)
    return "sender_chat" in message and message["sender_chat"]["id"] == message["chat"]["id"]


def chat_member_json(user: User, status: str, chat_type: str) -> JSON:
    data: JSON = {"status": status, "user": user.json}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        rights = dict.fromkeys(
            (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            ),
            True,
        )
        data.update(rights, can_be_edited=False, is_anonymous=False, can_promote_members=False)
        data["can_send_welcome_messages"] = False
        if chat_type == "channel":
            data.update(can_post_messages=True, can_edit_messages=True)
        else:
            data["can_pin_messages"] = True
    elif status == "restricted":
        data.update(
            dict.fromkeys(
                (
                    "can_send_messages",
                    "can_send_audios",
                    "can_send_documents",
                    "can_send_photos",
                    "can_send_videos",
                    "can_send_video_notes",
                    "can_send_voice_notes",
                    "can_send_polls",
                    "can_send_other_messages",
                    "can_add_web_page_previews",
                    "can_react_to_messages",
                    "can_edit_tag",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_manage_topics",
                ),
                False,
            ),
            is_member=True,
            until_date=0,
        )
    elif status == "kicked":
        data["until_date"] = 0
    return data


class Waitable:
    """A version counter with async waiters (no busy polling anywhere)."""

    __slots__ = ("version", "waiters")

    def __init__(self) -> None:
        self.version = 0
        self.waiters: list[asyncio.Future[Any]] = []

    def changed(self) -> None:
        self.version += 1
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def wait(self, timeout: float) -> None:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            if fut in self.waiters:
                self.waiters.remove(fut)


async def wait_any(waitables: Sequence[Waitable], timeout: float) -> None:
    """Until one of them changes, or the timeout."""
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    for waitable in waitables:
        waitable.waiters.append(fut)
    try:
        await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        pass
    finally:
        for waitable in waitables:
            if fut in waitable.waiters:
                waitable.waiters.remove(fut)


class ChatLog(Waitable):
    """Messages of one chat as seen by one bot."""

    __slots__ = ("chat", "messages", "next_id", "reply_keyboard")

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.messages: dict[int, JSON] = {}
        self.next_id = 1
        self.reply_keyboard: JSON | None = None

    def add(self, message: JSON) -> JSON:
        message_id = self.next_id
        self.next_id += 1
        message["message_id"] = message_id
        self.messages[message_id] = message
        self.changed()
        return message


@dataclass(slots=True)
class UpdateEntry:
    update_id: int
    kind: str
    chat_key: int
    body: str  # serialised once, reused by getUpdates and webhooks


@dataclass(slots=True)
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int) -> JSON:
        data: JSON = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
        }
        if self.allowed_updates is not None:
            data["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message
        return data


class TokenBucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()

    def wait_time(self, at: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (at - self.stamp) * self.rate)
        self.stamp = at
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass(slots=True)
class RateLimiter:
    """Token buckets shaped like Telegram's flood limits (disabled by default)."""

    enabled: bool = False
    per_second: float = 30
    per_chat_per_second: float = 1
    per_group_per_minute: float = 20
    private_burst: float = 3
    overall: TokenBucket | None = None
    chats: dict[int, TokenBucket] = field(default_factory=dict)

    def configure(
        self,
        enabled: bool,
        per_second: float,
        per_chat_per_second: float,
        per_group_per_minute: float,
    ) -> None:
        self.enabled = enabled
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self.overall = None
        self.chats.clear()

    def check(self, chat: Chat) -> int:
        """0 if a message may go out now (and count it), else seconds to wait."""
        at = time.monotonic()
        if self.overall is None:
            self.overall = TokenBucket(self.per_second, max(1.0, self.per_second))
        bucket = self.chats.get(chat.id)
        if bucket is None:
            if chat.is_private:
                bucket = TokenBucket(self.per_chat_per_second, self.private_burst)
            else:
                per_min = self.per_group_per_minute
                bucket = TokenBucket(per_min / 60, max(1.0, per_min))
            self.chats[chat.id] = bucket
        wait = max(self.overall.wait_time(at), bucket.wait_time(at))
        if wait > 0:
            return max(1, math.ceil(wait))
        self.overall.tokens -= 1
        bucket.tokens -= 1
        return 0


FAULT_BODIES = ("json", "html", "reset")


@dataclass(slots=True)
class Fault:
    """Calls that fail: the next `times` matching calls, or with `rate`, that share of them
    (drawn per call) until the faults are cleared.

    `body` is how the failure looks: "json" is the Bot API's error object; "html" is the
    page a front-end proxy (nginx) answers when Telegram's back end is down (Content-Type
    text/html, so the client cannot parse it); "reset" closes the connection unanswered.
    """

    method: str  # lower-case method name or "*"
    error_code: int
    description: str
    times: int
    chat_id: int | str | None = None
    retry_after: int | None = None
    rate: float | None = None
    body: str = "json"

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "error_code": self.error_code,
            "description": self.description,
            "times": self.times,
            "chat_id": self.chat_id,
            "retry_after": self.retry_after,
            "rate": self.rate,
            "body": self.body,
        }


@dataclass(slots=True)
class Stats:
    requests: dict[str, int] = field(default_factory=dict)
    messages_sent: int = 0
    rate_limited: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    # The latest refused calls (not injected faults), for a test to say what the bot got wrong.
    refused: deque[JSON] = field(default_factory=lambda: deque(maxlen=REFUSED_KEPT))
    faults_injected: int = 0
    updates: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    def to_json(self) -> JSON:
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "messages_sent": self.messages_sent,
            "rate_limited": self.rate_limited,
            "errors": {str(k): v for k, v in self.errors.items()},
            "total_errors": sum(self.errors.values()),
            "refused": list(self.refused),
            "faults_injected": self.faults_injected,
            "updates": self.updates,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
        }


@dataclass(slots=True)
class Invoice:
    title: str
    description: str
    payload: str
    currency: str
    prices: list[JSON]
    start_parameter: str = ""

    @property
    def total_amount(self) -> int:
        return sum(int(p.get("amount", 0)) for p in self.prices)

    def to_json(self) -> JSON:
        return {
            "title": self.title,
            "description": self.description,
            "start_parameter": self.start_parameter,
            "currency": self.currency,
            "total_amount": self.total_amount,
        }


@dataclass(slots=True)
class Charge:
    charge_id: str
    user_id: int
    currency: str
    total_amount: int
    payload: str
    refunded: bool = False

    def to_json(self) -> JSON:
        return {
            "telegram_payment_charge_id": self.charge_id,
            "user_id": self.user_id,
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.payload,
            "refunded": self.refunded,
        }


@dataclass(slots=True)
class PendingAnswer:
    """A callback or pre-checkout query waiting for the bot's answer."""

    query_id: str
    user_id: int
    created: float
    answer: JSON | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0

    def file_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def photo_json(self) -> list[JSON]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": len(self.data),
                "width": self.width,
                "height": self.height,
            }
        ]

    def document_json(self) -> JSON:
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG/JPEG/GIF (cheap header sniffing), else a plausible default."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                h = int.from_bytes(data[i + 5 : i + 7], "big")
                w = int.from_bytes(data[i + 7 : i + 9], "big")
                return w, h
            i += 2 + length
    return 800, 600


class FileStore:
    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def add(
        self,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        self._counter += 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        file_id = f"{prefix}{secrets.token_urlsafe(24)}"
        unique = f"AQAD{self._counter:07d}"
        ext = ".jpg" if kind == "photo" else _extension(file_name)
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            file_path=f"{folder}/file_{self._counter}{ext}",
            data=data,
            mime_type=mime_type,
            file_name=file_name,
        )
        if kind == "photo":
            stored.width, stored.height = image_size(data)
        self.by_id[file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored


def _extension(file_name: str | None) -> str:
    if file_name and "." in file_name:
        ext = file_name.rsplit(".", 1)[1]
        if ext.isalnum() and len(ext) <= 8:
            return "." + ext
    return ""


class BotState:
    """Everything that belongs to one bot token."""

    def __init__(self, token: str, user: User) -> None:
        self.token = token
        self.user = user
        self.logs: dict[int, ChatLog] = {}
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.description: dict[str, dict[str, str]] = {}
        self.menu_buttons: dict[int, JSON] = {}
        self.default_admin_rights: dict[bool, JSON] = {}
        self.reset()

    def next_webhook_url(self, default: str) -> str:
        """Where the next webhook delivery goes: the set URL, or the next target in turn."""
        if not self.webhook_targets:
            return default
        url = self.webhook_targets[self.webhook_turn % len(self.webhook_targets)]
        self.webhook_turn += 1
        return url

    def reset(self) -> None:
        previous: Waitable | None = getattr(self, "updates_changed", None)
        self.logs.clear()
        self.started.clear()
        self.blocked.clear()
        self.description.clear()
        self.menu_buttons.clear()
        self.pending: deque[UpdateEntry] = deque()
        self.redeliveries: deque[UpdateEntry] = deque()
        self.update_log: OrderedDict[int, UpdateEntry] = OrderedDict()
        self.next_update_id = 1
        self.allowed_updates: frozenset[str] | None = None
        self.poll_waiter: asyncio.Future[Any] | None = None
        self.on_update: Callable[[], None] | None = None  # set while a webhook is active
        self.webhook: WebhookConfig | None = None
        # Set through the control API: deliver webhooks round-robin to these URLs instead of
        # the one the bot set, as a reverse proxy in front of several instances would; a
        # failed delivery is retried on the next one.
        self.webhook_targets: list[str] = []
        self.webhook_turn = 0
        self.webhook_target_deliveries: dict[str, int] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.callbacks: dict[str, PendingAnswer] = {}
        self.pre_checkouts: dict[str, PendingAnswer] = {}
        self.invoices: dict[tuple[int, int], Invoice] = {}
        self.invoice_links: dict[str, Invoice] = {}
        self.charges: dict[str, Charge] = {}
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.faults: list[Fault] = []
        self.random = random.Random()  # draws faults given as a rate
        self.latency = 0.0
        self.in_delivery = 0  # updates handed to the webhook deliverer, not yet confirmed
        self.updates_changed = Waitable()
        if previous is not None:
            previous.changed()  # long polls in flight answer from the fresh queue

    def visible_commands(
        self, chat: Chat, user_id: int, language: str, *, chat_admin: bool = False
    ) -> list[JSON]:
        """The command menu a user sees in a chat: the first list set, in Telegram's order
        ("Determining list of commands", BotCommandScope), the user's language first."""
        if chat.is_private:
            scopes = [f"chat:{chat.id}", "all_private_chats", "default"]
        else:
            scopes = [f"chat_member:{chat.id}:{user_id}"]
            scopes += [f"chat_administrators:{chat.id}"] if chat_admin else []
            scopes += [f"chat:{chat.id}"]
            scopes += ["all_chat_administrators"] if chat_admin else []
            scopes += ["all_group_chats", "default"]
        for scope in scopes:
            for key in ((scope, language), (scope, "")) if language else ((scope, ""),):
                if key in self.commands:
                    return self.commands[key]
        return []

    def log(self, chat: Chat) -> ChatLog:
        log = self.logs.get(chat.id)
        if log is None:
            log = self.logs[chat.id] = ChatLog(chat)
        return log

    def push_update(self, kind: str, payload: JSON, chat_key: int) -> JSON:
        """Queue a new update (skipped like Telegram when not in allowed_updates)."""
        allowed = self.allowed_updates
        if (kind not in allowed) if allowed is not None else (kind in NOT_DEFAULT_UPDATES):
            return {"update_id": 0, kind: payload}
        update_id = self.next_update_id
        self.next_update_id += 1
        update: JSON = {"update_id": update_id, kind: payload}
        self._enqueue(UpdateEntry(update_id, kind, chat_key, dumps(update)), False)
        return update

    def push_raw(self, update: JSON) -> JSON:
        if "update_id" not in update:
            update = {"update_id": self.next_update_id, **update}
        update_id = int(update["update_id"])
        update["update_id"] = update_id
        self.next_update_id = max(self.next_update_id, update_id + 1)
        kind = next((k for k in update if k != "update_id"), "unknown")
        query = update.get("callback_query")
        if isinstance(query, dict) and query.get("id") and str(query["id"]) not in self.callbacks:
            # a pushed press is a query the bot may answer, as one made by press_button
            sender = query.get("from")
            sender = sender if isinstance(sender, dict) else {}
            self.callbacks[str(query["id"])] = PendingAnswer(
                str(query["id"]), int(sender.get("id") or 0), time.monotonic()
            )
        self._enqueue(UpdateEntry(update_id, kind, _chat_key(update, kind), dumps(update)), False)
        return update

    def redeliver(self, update_id: int) -> bool:
        entry = self.update_log.get(update_id)
        if entry is None:
            return False
        self._enqueue(entry, True)
        return True

    def last_update(self) -> JSON | None:
        if not self.update_log:
            return None
        entry = next(reversed(self.update_log.values()))
        result: JSON = json.loads(entry.body)
        return result

    def _enqueue(self, entry: UpdateEntry, again: bool) -> None:
        self.stats.updates += 1
        if again:
            self.redeliveries.append(entry)
        else:
            self.pending.append(entry)
            log = self.update_log
            log[entry.update_id] = entry
            if len(log) > UPDATE_LOG_SIZE:
                log.popitem(last=False)
        self.updates_changed.changed()
        if self.on_update is not None:
            self.on_update()

    def pending_count(self) -> int:
        return len(self.pending) + len(self.redeliveries)


def _chat_key(update: JSON, kind: str) -> int:
    body = update.get(kind)
    if isinstance(body, dict):
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = body.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return -int(update["update_id"]) - (1 << 62)


class EmulatorState:
    """The whole emulated Telegram."""

    def __init__(self, *, auto_register_bots: bool = True) -> None:
        self.auto_register_bots = auto_register_bots
        self.bots: dict[str, BotState] = {}
        self.reset()

    def reset(self) -> None:
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.usernames: dict[str, int] = {}
        self.files = FileStore()
        self._next_user_id = USER_ID_BASE
        self._next_group = 1
        self._query_counter = 0
        for bot in self.bots.values():
            bot.reset()
            self.users[bot.user.id] = bot.user

    def bot(self, token: str) -> BotState | None:
        bot = self.bots.get(token)
        if bot is None and self.auto_register_bots and TOKEN_RE.match(token):
            bot = self.register_bot(token)
        return bot

    def register_bot(
        self, token: str, *, username: str | None = None, first_name: str | None = None
    ) -> BotState:
        m = TOKEN_RE.match(token)
        bot_id = int(m.group(1)) if m else int(token.split(":", 1)[0] or 0)
        existing = self.bots.get(token)
        user = User(
            id=bot_id,
            first_name=first_name or (existing.user.first_name if existing else f"Bot {bot_id}"),
            username=username or (existing.user.username if existing else f"bot{bot_id}_bot"),
            is_bot=True,
        )
        if existing:
            existing.user = user
            bot = existing
        else:
            bot = self.bots[token] = BotState(token, user)
        self.users[bot_id] = user
        return bot

    def next_query_id(self) -> str:
        self._query_counter += 1
        return f"{4_000_000_000_000_000 + self._query_counter * 7919}"

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        is_premium: bool = False,
        phone_number: str | None = None,
    ) -> User:
        if user_id is None:
            while self._next_user_id in self.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        user = User(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
            phone_number=phone_number,
        )
        self.users[user_id] = user
        self.chats[user_id] = Chat(
            id=user_id,
            type="private",
            username=username,
            first_name=first_name,
            last_name=last_name,
        )
        if username:
            self.usernames[username.lower()] = user_id
        return user

    def add_chat(self, chat_type: str, title: str, *, username: str | None = None) -> Chat:
        n = self._next_group
        self._next_group += 1
        chat_id = (GROUP_ID_BASE - n) if chat_type == "group" else (SUPERGROUP_ID_BASE - n)
        chat = Chat(id=chat_id, type=chat_type, title=title, username=username)
        self.chats[chat_id] = chat
        if username:
            self.usernames[username.lower().lstrip("@")] = chat_id
        return chat

    def find_chat(self, chat_id: int | str) -> Chat | None:
        if isinstance(chat_id, str):
            found = self.usernames.get(chat_id.lstrip("@").lower())
            return None if found is None else self.chats.get(found)
        return self.chats.get(chat_id)
