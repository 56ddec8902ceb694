"""What users (and admins) do: the actions behind the control API.

Every action creates the Telegram objects a real client would, stores them and queues the
matching update for the bot.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import secrets
import time
from typing import Any

from .formatting import command_entities
from .state import (
    JSON,
    MEMBER_STATUSES,
    PRESENT_STATUSES,
    BotState,
    Charge,
    Chat,
    ChatLog,
    EmulatorState,
    Invoice,
    PendingAnswer,
    User,
    chat_member_json,
    now,
    sent_by_bot,
)

PAYMENT_TIMEOUT = 10.0  # Telegram waits 10 s for answerPreCheckoutQuery


class ControlError(Exception):
    """A control-API request that cannot be fulfilled (answered as a 4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def phone_for(user: User) -> str:
    return user.phone_number or f"+99890{user.id % 10_000_000:07d}"


class UserActions:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # ------------------------------------------------------------- lookups

    def user(self, user_id: int) -> User:
        user = self.state.users.get(user_id)
        if user is None or user.is_bot:
            raise ControlError(404, f"user {user_id} does not exist (create it first)")
        return user

    def chat(self, chat_id: int) -> Chat:
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"chat {chat_id} does not exist")
        return chat

    def visible_chat(self, user: User, chat_id: int | None) -> Chat:
        """The chat the user acts in; the user must be able to see it."""
        chat = self.chat(user.id if chat_id is None else chat_id)
        if chat.is_private:
            if chat.id != user.id:
                raise ControlError(403, f"chat {chat.id} is another user's private chat")
        elif chat.members.get(user.id) not in PRESENT_STATUSES:
            raise ControlError(403, f"user {user.id} is not a member of chat {chat.id}")
        return chat

    def bot_message(self, bot: BotState, chat: Chat, message_id: int) -> tuple[ChatLog, JSON]:
        log = bot.logs.get(chat.id)
        message = log.messages.get(message_id) if log else None
        if log is None or message is None:
            raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
        if not sent_by_bot(message, bot.user.id):
            raise ControlError(400, f"message {message_id} was not sent by the bot")
        return log, message

    # ------------------------------------------------------------ messages

    def send(
        self,
        bot: BotState,
        user_id: int,
        fields: JSON,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> tuple[JSON, JSON]:
        """A message from the user; returns ``(message, update)``."""
        user = self.user(user_id)
        chat = self.visible_chat(user, chat_id)
        if chat.type == "channel":
            raise ControlError(400, "users cannot post to channels; use push_update")
        if chat.is_private:
            if user.id in bot.blocked:
                # Like the client's "Restart" button: unblocks, then sends.
                self.set_blocked(bot, user.id, False)
            bot.started.add(user.id)
        log = bot.log(chat)
        message: JSON = {"message_id": 0, "from": user.json, "chat": chat.json, "date": now()}
        if reply_to_message_id:
            target = log.messages.get(reply_to_message_id)
            if target is None:
                raise ControlError(404, f"message {reply_to_message_id} not found")
            message["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        message.update(fields)
        log.add(message)
        update = bot.push_update("message", message, chat.id)
        return message, update

    @staticmethod
    def text_fields(text: str) -> JSON:
        fields: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return fields

    def contact_fields(
        self, user: User, phone_number: str, first_name: str | None, own: bool
    ) -> JSON:
        contact: JSON = {"phone_number": phone_number, "first_name": first_name or user.first_name}
        if own:
            if user.last_name:
                contact["last_name"] = user.last_name
            contact["user_id"] = user.id
        return {"contact": contact}

    def photo_fields(self, data: bytes, caption: str | None) -> JSON:
        stored = self.state.files.add(data, "photo")
        fields: JSON = {"photo": stored.photo_json()}
        if caption:
            fields["caption"] = caption
        return fields

    def document_fields(
        self, data: bytes, filename: str, caption: str | None, mime_type: str | None
    ) -> JSON:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.state.files.add(data, "document", file_name=filename, mime_type=mime)
        fields: JSON = {"document": stored.document_json()}
        if caption:
            fields["caption"] = caption
        return fields

    def message_fields(self, user: User, body: dict[str, Any]) -> JSON:
        """Content of a control-API ``POST messages`` body."""
        if "contact" in body:
            contact = body["contact"] or {}
            return self.contact_fields(
                user,
                str(contact.get("phone_number") or phone_for(user)),
                contact.get("first_name"),
                bool(contact.get("own", True)),
            )
        if "photo" in body:
            fields = self.photo_fields(_b64(body["photo"]), body.get("caption"))
        elif "document" in body:
            fields = self.document_fields(
                _b64(body["document"]),
                str(body.get("filename") or "file.bin"),
                body.get("caption"),
                body.get("mime_type"),
            )
        elif "text" in body:
            return self.text_fields(str(body["text"]))
        else:
            raise ControlError(400, "a message needs text, contact, photo or document")
        if body.get("media_group_id"):
            fields["media_group_id"] = str(body["media_group_id"])
        return fields

    def album(
        self,
        bot: BotState,
        user_id: int,
        photos: list[bytes],
        caption: str | None,
        chat_id: int | None = None,
    ) -> list[tuple[JSON, JSON]]:
        if not 1 <= len(photos) <= 10:
            raise ControlError(400, "an album has 1-10 photos")
        group_id = str(13_000_000_000_000_000 + secrets.randbelow(10**15))
        sent = []
        for index, data in enumerate(photos):
            fields = self.photo_fields(data, caption if index == 0 else None)
            fields["media_group_id"] = group_id
            sent.append(self.send(bot, user_id, fields, chat_id=chat_id))
        return sent

    # ------------------------------------------------------------- buttons

    def press_button(
        self,
        bot: BotState,
        user_id: int,
        message_id: int,
        *,
        text: str | None,
        callback_data: str | None,
        chat_id: int | None,
    ) -> tuple[str, JSON]:
        if text is None and callback_data is None:
            raise ControlError(400, "say which button: text or callback_data")
        user = self.user(user_id)
        chat = self.visible_chat(user, chat_id)
        _, message = self.bot_message(bot, chat, message_id)
        buttons = [
            b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
        ]
        for button in buttons:
            if "callback_data" not in button:
                continue
            if (text is None or button["text"] == text) and (
                callback_data is None or button["callback_data"] == callback_data
            ):
                break
        else:
            have = [(b.get("text"), b.get("callback_data")) for b in buttons]
            raise ControlError(
                404,
                f"message {message_id} has no callback button text={text!r} "
                f"callback_data={callback_data!r}; buttons: {have}",
            )
        query_id = self.state.next_query_id()
        bot.callbacks[query_id] = PendingAnswer(query_id, user.id, time.monotonic())
        payload: JSON = {
            "id": query_id,
            "from": user.json,
            "message": message,
            "chat_instance": str((chat.id * 2654435761) % (1 << 62)),
            "data": button["callback_data"],
        }
        return query_id, bot.push_update("callback_query", payload, chat.id)

    def press_reply_button(
        self, bot: BotState, user_id: int, text: str, chat_id: int | None
    ) -> tuple[JSON, JSON]:
        user = self.user(user_id)
        chat = self.visible_chat(user, chat_id)
        log = bot.logs.get(chat.id)
        keyboard = log.reply_keyboard if log else None
        if log is None or keyboard is None:
            raise ControlError(404, f"the bot has shown no reply keyboard in chat {chat.id}")
        labels: list[str] = []
        for row in keyboard.get("keyboard", []):
            for raw in row:
                button = raw if isinstance(raw, dict) else {"text": str(raw)}
                labels.append(str(button.get("text")))
                if button.get("text") != text:
                    continue
                if keyboard.get("one_time_keyboard"):
                    log.reply_keyboard = None
                if button.get("request_contact"):
                    fields = self.contact_fields(user, phone_for(user), None, True)
                else:
                    fields = self.text_fields(text)
                return self.send(bot, user_id, fields, chat_id=chat.id)
        raise ControlError(404, f"no reply button {text!r}; buttons: {labels}")

    # -------------------------------------------------------------- payments

    async def pay(
        self,
        bot: BotState,
        user_id: int,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        link: str | None = None,
        timeout: float = PAYMENT_TIMEOUT,
    ) -> JSON:
        user = self.user(user_id)
        invoice: Invoice | None
        if link:
            invoice = bot.invoice_links.get(link.rsplit("$", 1)[-1])
            if invoice is None:
                raise ControlError(404, f"unknown invoice link {link!r}")
        else:
            chat = self.visible_chat(user, chat_id)
            if message_id is None:
                raise ControlError(400, "message_id or link is required")
            self.bot_message(bot, chat, message_id)
            invoice = bot.invoices.get((chat.id, message_id))
            if invoice is None:
                raise ControlError(400, f"message {message_id} is not an invoice")
        query_id = self.state.next_query_id()
        query = bot.pre_checkouts[query_id] = PendingAnswer(query_id, user.id, time.monotonic())
        bot.push_update(
            "pre_checkout_query",
            {
                "id": query_id,
                "from": user.json,
                "currency": invoice.currency,
                "total_amount": invoice.total_amount,
                "invoice_payload": invoice.payload,
            },
            user.id,
        )
        try:
            await asyncio.wait_for(query.answered.wait(), timeout)
        except TimeoutError:
            query.answer = {"ok": False, "error_message": "timeout"}  # late answers: too old
            return {"ok": False, "error_message": "timeout"}
        answer = query.answer or {}
        if not answer.get("ok"):
            return {"ok": False, "error_message": answer.get("error_message")}
        stars = invoice.currency == "XTR"
        charge_id = ("stxs" if stars else "tgpc") + secrets.token_hex(16)
        bot.charges[charge_id] = Charge(
            charge_id, user.id, invoice.currency, invoice.total_amount, invoice.payload
        )
        payment = {
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
            "invoice_payload": invoice.payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "" if stars else f"prov_{secrets.token_hex(8)}",
        }
        message, update = self.send(bot, user.id, {"successful_payment": payment})
        return {"ok": True, "charge_id": charge_id, "message": message, "update": update}

    # ----------------------------------------------------------- membership

    def set_blocked(self, bot: BotState, user_id: int, blocked: bool) -> None:
        user = self.user(user_id)
        if (user_id in bot.blocked) == blocked:
            return
        if blocked:
            bot.blocked.add(user_id)
        else:
            bot.blocked.discard(user_id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        chat = self.chat(user_id)
        self._member_update(bot, chat, user, bot.user, old, new, "my_chat_member")

    def set_member(self, bot: BotState, chat_id: int, user_id: int, status: str) -> None:
        if status not in MEMBER_STATUSES:
            raise ControlError(400, f"status must be one of {MEMBER_STATUSES}")
        chat = self.chat(chat_id)
        if chat.is_private:
            raise ControlError(400, "private chats have no members to set")
        member = self.state.users.get(user_id)
        if member is None:
            raise ControlError(404, f"user {user_id} does not exist")
        old = chat.members.get(user_id, "left")
        chat.members[user_id] = status
        if old == status:
            return
        actor = self._actor(chat, member)
        kind = "my_chat_member" if user_id == bot.user.id else "chat_member"
        if kind == "chat_member" and chat.members.get(bot.user.id) not in (
            "administrator",
            "creator",
        ):
            return  # Telegram sends chat_member updates only to admin bots
        self._member_update(bot, chat, actor, member, old, status, kind)

    def create_chat(
        self,
        bot: BotState,
        chat_type: str,
        title: str,
        member_ids: list[int],
        *,
        username: str | None = None,
        bot_status: str = "administrator",
        creator_id: int | None = None,
    ) -> Chat:
        if chat_type not in ("group", "supergroup", "channel"):
            raise ControlError(400, "type must be group, supergroup or channel")
        if bot_status not in MEMBER_STATUSES:
            raise ControlError(400, f"bot_status must be one of {MEMBER_STATUSES}")
        for uid in [*member_ids, *([creator_id] if creator_id else [])]:
            self.user(uid)
        chat = self.state.add_chat(chat_type, title, username=username)
        for uid in member_ids:
            chat.members[uid] = "member"
        if creator_id is not None:
            chat.members[creator_id] = "creator"
        if bot_status != "left":
            self.set_member(bot, chat.id, bot.user.id, bot_status)
        return chat

    def _actor(self, chat: Chat, fallback: User) -> User:
        users = self.state.users
        for uid, status in chat.members.items():
            if status == "creator" and uid in users:
                return users[uid]
        return fallback

    def _member_update(
        self, bot: BotState, chat: Chat, actor: User, member: User, old: str, new: str, kind: str
    ) -> None:
        payload = {
            "chat": chat.json,
            "from": actor.json,
            "date": now(),
            "old_chat_member": chat_member_json(member, old, chat.type),
            "new_chat_member": chat_member_json(member, new, chat.type),
        }
        bot.push_update(kind, payload, chat.id)


def _b64(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise ControlError(400, "binary data must be base64") from None
