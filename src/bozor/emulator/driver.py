"""``EmulatorDriver``: plays Telegram users and admins against a running emulator.

One driver speaks for one bot token. Every method is a thin wrapper over the control API
(see ``control.py`` / ``docs/emulator.md``); failures raise ``EmulatorError``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json as jsonlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

import aiohttp

Message = dict[str, Any]
Predicate = Callable[[Message], bool]


class EmulatorError(Exception):
    """The control API refused a request (``status`` is the HTTP status)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


def _dumps(obj: Any) -> str:
    return jsonlib.dumps(obj, ensure_ascii=False)


def _loads(body: bytes) -> Any:
    return jsonlib.loads(body)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _content(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


class EmulatorDriver:
    """Control-API client for one bot token. Use ``async with`` or ``await aclose()``.

    It runs on aiohttp rather than httpx: benchmarks push thousands of user messages per
    second through it, and aiohttp's client is an order of magnitude faster under concurrency.
    """

    def __init__(self, base_url: str, bot_token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot_token = bot_token
        self.timeout = timeout
        self._bot = f"/control/bots/{bot_token}"
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EmulatorDriver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256), json_serialize=_dumps
            )
        query = {k: str(v) for k, v in params.items()} if params else None
        async with self._session.request(
            method,
            self.base_url + path,
            json=json,
            params=query,
            timeout=aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout),
        ) as response:
            body = await response.read()
            is_json = response.content_type == "application/json"
            if response.status >= 400:
                description = body.decode(errors="replace")
                if is_json:
                    with contextlib.suppress(ValueError, AttributeError):
                        description = str(_loads(body).get("error", description))
                raise EmulatorError(response.status, description)
            return _loads(body) if is_json else body

    # ------------------------------------------------------------ the bot

    async def register_bot(
        self, *, username: str | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """Register (or rename) this driver's bot; tokens of Telegram's shape auto-register."""
        body: dict[str, Any] = {
            "token": self.bot_token,
            "username": username,
            "first_name": first_name,
        }
        return cast(dict[str, Any], await self._call("POST", "/control/bots", json=body))

    async def me(self) -> dict[str, Any]:
        """Bot user, webhook, pending update count, blocked and started user ids."""
        return cast(dict[str, Any], await self._call("GET", self._bot))

    async def telegram_login(self, user_id: int, *, auth_date: int | None = None) -> dict[str, str]:
        """What Telegram's Login Widget would send a site for this user (signed with the
        bot's token): fields for the site's callback URL."""
        body = {"user_id": user_id, "auth_date": auth_date}
        return cast(dict[str, str], await self._call("POST", f"{self._bot}/login", json=body))

    async def reset(self) -> None:
        """Forget everything except bot registrations (users, chats, updates, files...)."""
        await self._call("POST", "/control/reset")

    # -------------------------------------------------------- users & chats

    async def create_user(
        self,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        is_premium: bool = False,
        phone_number: str | None = None,
    ) -> int:
        body = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "user_id": user_id,
            "is_premium": is_premium,
            "phone_number": phone_number,
        }
        user = await self._call("POST", "/control/users", json=body)
        return int(user["id"])

    async def create_group(
        self,
        title: str,
        member_ids: list[int],
        *,
        supergroup: bool = True,
        bot_status: str = "administrator",
        creator_id: int | None = None,
    ) -> int:
        body = {
            "type": "supergroup" if supergroup else "group",
            "title": title,
            "member_ids": member_ids,
            "bot_status": bot_status,
            "creator_id": creator_id,
        }
        return int((await self._call("POST", f"{self._bot}/chats", json=body))["id"])

    async def create_channel(
        self, title: str, *, username: str | None = None, bot_is_admin: bool = True
    ) -> int:
        body: dict[str, Any] = {
            "type": "channel",
            "title": title,
            "username": username,
            "member_ids": [],
            "bot_status": "administrator" if bot_is_admin else "left",
        }
        return int((await self._call("POST", f"{self._bot}/chats", json=body))["id"])

    async def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """creator / administrator / member / restricted / left / kicked."""
        await self._call(
            "PUT", f"{self._bot}/chats/{chat_id}/members/{user_id}", json={"status": status}
        )

    async def mark_started(self, user_ids: list[int]) -> None:
        """As if these users had opened the bot (without sending it an update)."""
        await self._call("POST", f"{self._bot}/started", json={"user_ids": user_ids})

    async def block_bot(self, user_id: int) -> None:
        await self._call("PUT", f"{self._bot}/blocks/{user_id}")

    async def unblock_bot(self, user_id: int) -> None:
        await self._call("DELETE", f"{self._bot}/blocks/{user_id}")

    # ----------------------------------------------------- users send things

    async def _send(self, body: dict[str, Any]) -> Message:
        result = await self._call("POST", f"{self._bot}/messages", json=body)
        return cast(Message, result["message"])

    async def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> Message:
        """The user writes ``text`` (private chat with the bot unless ``chat_id``)."""
        return await self._send(
            {
                "user_id": user_id,
                "text": text,
                "chat_id": chat_id,
                "reply_to_message_id": reply_to_message_id,
            }
        )

    async def send_start(self, user_id: int, payload: str | None = None) -> Message:
        return await self.send_message(user_id, f"/start {payload}" if payload else "/start")

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        own: bool = True,
    ) -> Message:
        contact = {"phone_number": phone_number, "first_name": first_name, "own": own}
        return await self._send({"user_id": user_id, "contact": contact})

    async def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        chat_id: int | None = None,
    ) -> Message:
        return await self._send(
            {
                "user_id": user_id,
                "photo": _b64(data),
                "caption": caption,
                "media_group_id": media_group_id,
                "chat_id": chat_id,
            }
        )

    async def send_album(
        self,
        user_id: int,
        photos: list[bytes],
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> list[Message]:
        body = {
            "user_id": user_id,
            "photos": [_b64(p) for p in photos],
            "caption": caption,
            "chat_id": chat_id,
        }
        result = await self._call("POST", f"{self._bot}/albums", json=body)
        return cast(list[Message], result["messages"])

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        chat_id: int | None = None,
    ) -> Message:
        return await self._send(
            {
                "user_id": user_id,
                "document": _b64(data),
                "filename": filename,
                "caption": caption,
                "mime_type": mime_type,
                "chat_id": chat_id,
            }
        )

    # -------------------------------------------------------------- buttons

    async def press_button(
        self,
        user_id: int,
        message_id: int,
        *,
        text: str | None = None,
        callback_data: str | None = None,
        chat_id: int | None = None,
    ) -> str:
        """Press an inline callback button; returns the callback query id."""
        body = {
            "user_id": user_id,
            "message_id": message_id,
            "text": text,
            "callback_data": callback_data,
            "chat_id": chat_id,
        }
        result = await self._call("POST", f"{self._bot}/callbacks", json=body)
        return str(result["id"])

    async def callback_answer(self, query_id: str, timeout: float = 5) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery (text, show_alert, url...), or None if none came."""
        result = await self._call(
            "GET",
            f"{self._bot}/callbacks/{query_id}",
            params={"timeout": timeout},
            timeout=timeout + 10,
        )
        return cast(dict[str, Any] | None, result["answer"])

    async def press_reply_button(
        self, user_id: int, text: str, *, chat_id: int | None = None
    ) -> Message:
        body = {"user_id": user_id, "text": text, "chat_id": chat_id}
        result = await self._call("POST", f"{self._bot}/reply-buttons", json=body)
        return cast(Message, result["message"])

    async def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The reply keyboard currently shown in the chat (None if removed or never sent)."""
        result = await self._call("GET", f"{self._bot}/chats/{chat_id}/keyboard")
        return cast(dict[str, Any] | None, result["keyboard"])

    # ------------------------------------------------------------- payments

    async def pay_invoice(
        self, user_id: int, message_id: int, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        body = {"user_id": user_id, "message_id": message_id, "chat_id": chat_id}
        return cast(
            dict[str, Any], await self._call("POST", f"{self._bot}/payments", json=body, timeout=30)
        )

    async def pay_invoice_link(self, user_id: int, link: str) -> dict[str, Any]:
        body = {"user_id": user_id, "link": link}
        return cast(
            dict[str, Any], await self._call("POST", f"{self._bot}/payments", json=body, timeout=30)
        )

    async def payments(self) -> list[dict[str, Any]]:
        """All charges of this bot with their ``refunded`` flag."""
        return cast(
            list[dict[str, Any]], (await self._call("GET", f"{self._bot}/payments"))["charges"]
        )

    # ------------------------------------------------------------- messages

    async def _messages(
        self, chat_id: int, *, from_bot: bool, after_id: int = 0, **wait: Any
    ) -> dict[str, Any]:
        params = {"from_bot": "1" if from_bot else "0", "after_id": after_id, **wait}
        timeout = float(wait.get("timeout", 0)) + 10
        return cast(
            dict[str, Any],
            await self._call(
                "GET", f"{self._bot}/chats/{chat_id}/messages", params=params, timeout=timeout
            ),
        )

    async def messages(self, chat_id: int) -> list[Message]:
        """Messages in the chat now (edited content, deleted ones gone), oldest first."""
        return cast(list[Message], (await self._messages(chat_id, from_bot=False))["messages"])

    async def bot_messages(self, chat_id: int) -> list[Message]:
        return cast(list[Message], (await self._messages(chat_id, from_bot=True))["messages"])

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        predicate: Predicate | None = None,
        timeout: float = 5.0,
        after_message_id: int = 0,
    ) -> Message:
        """First bot message with id > after_message_id matching (text or caption)."""
        found = await self._wait(chat_id, 1, contains, predicate, timeout, after_message_id)
        return found[0]

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        *,
        timeout: float = 5.0,
        after_message_id: int = 0,
    ) -> list[Message]:
        return await self._wait(chat_id, count, None, None, timeout, after_message_id)

    async def _wait(
        self,
        chat_id: int,
        count: int,
        contains: str | None,
        predicate: Predicate | None,
        timeout: float,
        after: int,
    ) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wait: dict[str, Any] = {}
        while True:
            data = await self._messages(chat_id, from_bot=True, after_id=after, **wait)
            matches = [
                m
                for m in data["messages"]
                if (contains is None or contains in _content(m))
                and (predicate is None or predicate(m))
            ]
            if len(matches) >= count:
                return matches[:count]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    await self._describe(chat_id, count, len(matches), contains, timeout, after)
                )
            # Server-side long poll: returns as soon as the chat changes.
            wait = {"version": data["version"], "timeout": round(remaining, 3)}

    async def wait_for_edit(
        self, chat_id: int, message_id: int, *, contains: str, timeout: float = 5.0
    ) -> Message:
        """The message `message_id` once its text or caption contains `contains` (long poll)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wait: dict[str, Any] = {}
        while True:
            data = await self._messages(chat_id, from_bot=False, after_id=message_id - 1, **wait)
            for message in data["messages"]:
                if message["message_id"] == message_id and contains in _content(message):
                    return cast(Message, message)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"message {message_id} in chat {chat_id} never contained {contains!r} "
                    f"within {timeout} s"
                )
            wait = {"version": data["version"], "timeout": round(remaining, 3)}

    async def _describe(
        self,
        chat_id: int,
        count: int,
        got: int,
        contains: str | None,
        timeout: float,
        after: int,
    ) -> str:
        messages = await self.messages(chat_id)
        lines = []
        for m in messages[-15:]:
            sender = (m.get("from") or m.get("sender_chat") or {}).get("id")
            who = "bot" if sender == int(self.bot_token.split(":", 1)[0] or 0) else f"{sender}"
            kind = next(
                (
                    k
                    for k in (
                        "text",
                        "caption",
                        "photo",
                        "document",
                        "invoice",
                        "contact",
                        "successful_payment",
                    )
                    if k in m
                ),
                "?",
            )
            lines.append(f"  #{m['message_id']} from {who}: {kind}={_content(m)[:120]!r}")
        wanted = f"{count} bot message(s)" + (f" containing {contains!r}" if contains else "")
        listing = "\n".join(lines) if lines else "  (no messages)"
        return (
            f"timed out after {timeout}s waiting for {wanted} in chat {chat_id} "
            f"after message_id {after} (matched {got}); the chat contains:\n{listing}"
        )

    # --------------------------------------------------------------- updates

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (update_id assigned unless given); returns it."""
        return cast(dict[str, Any], await self._call("POST", f"{self._bot}/updates", json=update))

    async def redeliver(self, update_id: int) -> None:
        """Deliver a past update again with the same update_id (Telegram's duplicates)."""
        await self._call("POST", f"{self._bot}/updates/{update_id}/redeliver")

    async def last_update(self) -> dict[str, Any]:
        """The newest update queued for the bot (e.g. the one a ``send_*`` just created)."""
        return cast(dict[str, Any], await self._call("GET", f"{self._bot}/updates/last"))

    # ------------------------------------------------------- settings & files

    async def commands(
        self, scope: str = "default", language_code: str = ""
    ) -> list[dict[str, Any]]:
        """What setMyCommands stored. Scope keys: default, all_private_chats,
        all_group_chats, all_chat_administrators, chat:<id>, chat_administrators:<id>,
        chat_member:<chat_id>:<user_id>."""
        params = {"scope": scope, "language_code": language_code}
        return cast(
            list[dict[str, Any]], await self._call("GET", f"{self._bot}/commands", params=params)
        )

    async def visible_commands(
        self, chat_id: int, language_code: str = "", user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The command menu `user_id` (default: the private chat's user) sees in the chat with
        the app in `language_code`, resolved across scopes as Telegram does."""
        params: dict[str, Any] = {"chat_id": chat_id, "language_code": language_code}
        if user_id is not None:
            params["user_id"] = user_id
        return cast(
            list[dict[str, Any]],
            await self._call("GET", f"{self._bot}/commands/visible", params=params),
        )

    async def settings(self) -> dict[str, Any]:
        """Descriptions, names, menu buttons and all command lists."""
        return cast(dict[str, Any], await self._call("GET", f"{self._bot}/settings"))

    async def get_file_bytes(self, file_id: str) -> bytes:
        return cast(bytes, await self._call("GET", f"/control/files/{file_id}"))

    async def webhook_info(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("GET", f"{self._bot}/webhook"))

    async def set_webhook_targets(self, urls: list[str]) -> None:
        """Deliver webhooks round-robin to `urls` (several instances behind one proxy); a
        failed delivery is retried on the next URL. An empty list: the webhook's own URL."""
        await self._call("PUT", f"{self._bot}/webhook-targets", json={"urls": urls})

    async def webhook_targets(self) -> dict[str, Any]:
        """The targets and the deliveries each has taken."""
        return cast(dict[str, Any], await self._call("GET", f"{self._bot}/webhook-targets"))

    # ----------------------------------------------------- limits and faults

    async def set_rate_limits(
        self,
        enabled: bool,
        *,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        per_group_per_minute: float = 20,
    ) -> None:
        body = {
            "enabled": enabled,
            "per_second": per_second,
            "per_chat_per_second": per_chat_per_second,
            "per_group_per_minute": per_group_per_minute,
        }
        await self._call("PUT", f"{self._bot}/rate-limits", json=body)

    async def inject_fault(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        rate: float | None = None,
        body: str = "json",
        seed: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any) fail with this error; with
        ``rate``, that share of the calls fails until ``clear_faults``. ``body``: "json" (the
        Bot API's error), "html" (a proxy's error page) or "reset" (the connection closed)."""
        request = {
            "method": method,
            "error_code": error_code,
            "description": description,
            "retry_after": retry_after,
            "times": times,
            "chat_id": chat_id,
            "rate": rate,
            "body": body,
            "seed": seed,
        }
        await self._call("POST", f"{self._bot}/faults", json=request)

    async def faults(self) -> list[dict[str, Any]]:
        """The faults still waiting to fire."""
        return cast(list[dict[str, Any]], await self._call("GET", f"{self._bot}/faults"))

    async def clear_faults(self) -> None:
        await self._call("DELETE", f"{self._bot}/faults")

    async def set_latency(self, seconds: float) -> None:
        """Artificial delay added to every Bot API request of this bot."""
        await self._call("PUT", f"{self._bot}/latency", json={"seconds": seconds})

    async def stats(self) -> dict[str, Any]:
        """requests per method, messages_sent, rate_limited (429s), errors by code..."""
        return cast(dict[str, Any], await self._call("GET", f"{self._bot}/stats"))
