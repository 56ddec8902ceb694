"""The Bot API methods (everything except getUpdates, which needs long polling).

Each method is a plain synchronous function ``(bot, params) -> result``; the server wraps
them with authentication, statistics, fault injection and latency. Errors are raised as
``ApiError`` with Telegram's exact descriptions.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Callable
from typing import Any

from .errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request, forbidden, retry_after
from .formatting import format_text
from .params import Params
from .state import (
    JSON,
    PRESENT_STATUSES,
    BotState,
    Chat,
    ChatLog,
    EmulatorState,
    Invoice,
    PendingAnswer,
    StoredFile,
    WebhookConfig,
    chat_member_json,
    now,
    sent_by_bot,
)

Method = Callable[[BotState, Params], Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
# Keyboard sizes Telegram accepts (inline: 8 a row, 100 in all; reply: 12 a row, 300 in all).
# Beyond them Telegram answers "reply markup is too long".
INLINE_ROW, INLINE_TOTAL = 8, 100
REPLY_ROW, REPLY_TOTAL = 12, 300
MARKUP_TOO_LONG = "reply markup is too long"
_LOOPBACK_HTTP = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/|$)")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_MEDIA_KEYS = ("photo", "document", "video", "audio", "animation", "voice")
# Keys that describe a message, not its content (dropped when copying/forwarding).
_ENVELOPE = frozenset(
    {
        "message_id",
        "from",
        "chat",
        "date",
        "edit_date",
        "reply_markup",
        "reply_to_message",
        "forward_origin",
        "media_group_id",
        "sender_chat",
    }
)


_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_LANGUAGE_CODE_RE = re.compile(r"^[a-z]{2}$")


def _scope_key(scope: Any) -> str:
    if scope is None:
        return "default"
    kind = scope.get("type") if isinstance(scope, dict) else None
    if kind not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
    return str(kind)


class BotApi:
    def __init__(
        self,
        state: EmulatorState,
        on_webhook_change: Callable[[BotState], None] = lambda bot: None,
    ) -> None:
        self.state = state
        self.on_webhook_change = on_webhook_change
        self.methods: dict[str, Method] = {}
        self.names: dict[str, str] = {"getupdates": "getUpdates"}
        for name in dir(self):
            if name.startswith("m_"):
                api_name = name[2:]
                self.methods[api_name.lower()] = getattr(self, name)
                self.names[api_name.lower()] = api_name

    # ----------------------------------------------------------------- helpers

    def chat(self, p: Params, name: str = "chat_id") -> Chat:
        chat = self.state.find_chat(p.chat_id(name))
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def check_can_send(self, bot: BotState, chat: Chat) -> None:
        if chat.is_private:
            user = self.state.users.get(chat.id)
            if user is None or user.is_bot:
                raise bad_request("chat not found")
            if chat.id in bot.blocked:
                raise forbidden("bot was blocked by the user")
            if chat.id not in bot.started:
                raise forbidden("bot can't initiate conversation with a user")
            return
        status = chat.members.get(bot.user.id, "left")
        kind = f"{chat.type} chat"
        if chat.type == "channel":
            if status not in ("administrator", "creator"):
                raise forbidden(f"bot is not a member of the {kind}")
        elif status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        elif status not in PRESENT_STATUSES:
            raise forbidden(f"bot is not a member of the {kind}")

    def rate_limit(self, bot: BotState, chat: Chat) -> None:
        if bot.limiter.enabled:
            wait = bot.limiter.check(chat)
            if wait:
                bot.stats.rate_limited += 1
                raise retry_after(wait)

    def markup(self, bot: BotState, p: Params) -> tuple[JSON | None, JSON | None]:
        """``(inline_markup, reply_keyboard_change)``; validates callback data."""
        markup = p.json("reply_markup")
        if not markup:
            return None, None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            validate_inline(markup)
            self._check_web_apps(p, markup["inline_keyboard"], "inline keyboard")
            return markup, None
        rows = markup.get("keyboard")
        if isinstance(rows, list):
            _check_size(rows, REPLY_ROW, REPLY_TOTAL)
            self._check_web_apps(p, rows, "keyboard")
        return None, markup

    def _check_web_apps(self, p: Params, rows: list[Any], kind: str) -> None:
        """web_app buttons: an HTTPS URL, and only in the private chat with the bot."""
        buttons = [b for row in rows if isinstance(row, list) for b in row if isinstance(b, dict)]
        apps = [b["web_app"] for b in buttons if "web_app" in b]
        if not apps:
            return
        for app in apps:
            web_app_url(app, f"{kind} button")
        if p.string("chat_id") is not None and self.chat(p).type != "private":
            raise bad_request("BUTTON_TYPE_INVALID")

    def reply_to(self, log: ChatLog, p: Params) -> JSON | None:
        params = p.json("reply_parameters")
        allow = p.flag("allow_sending_without_reply")
        if isinstance(params, dict):
            target = params.get("message_id")
            allow = allow or bool(params.get("allow_sending_without_reply"))
        else:
            target = p.integer("reply_to_message_id")
        if not target:
            return None
        found = log.messages.get(int(target))
        if found is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in found.items() if k != "reply_to_message"}

    def caption(self, p: Params) -> tuple[str | None, list[JSON] | None]:
        raw = p.string("caption")
        if raw is None:
            return None, None
        text, entities = format_text(raw, p.string("parse_mode"), p.json("caption_entities"))
        if len(text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return text, entities

    def text(self, p: Params) -> tuple[str, list[JSON] | None]:
        raw = p.string("text")
        if raw is None or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = format_text(raw, p.string("parse_mode"), p.json("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, entities

    def post(
        self,
        bot: BotState,
        chat: Chat,
        fields: JSON,
        *,
        markup: JSON | None = None,
        keyboard: JSON | None = None,
        reply: JSON | None = None,
        log: ChatLog | None = None,
    ) -> JSON:
        """Store a message sent by the bot."""
        message: JSON = {"message_id": 0}
        if chat.type == "channel":
            message["sender_chat"] = chat.json
        else:
            message["from"] = bot.user.json
        message["chat"] = chat.json
        message["date"] = now()
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(fields)
        if markup is not None:
            message["reply_markup"] = markup
        log = log or bot.log(chat)
        if keyboard is not None:
            if "keyboard" in keyboard:
                log.reply_keyboard = keyboard
            elif keyboard.get("remove_keyboard"):
                log.reply_keyboard = None
        bot.stats.messages_sent += 1
        return log.add(message)

    def input_file(self, p: Params, name: str, kind: str, value: Any = None) -> StoredFile:
        upload = p.files.get(name) if value is None else None
        if value is None:
            value = p.string(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        files = self.state.files
        if upload is not None:
            mime = upload.content_type
            if kind == "document" and (not mime or mime == "application/octet-stream"):
                mime = mimetypes.guess_type(upload.filename)[0] or mime
            return files.add(upload.data, kind, file_name=upload.filename, mime_type=mime)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        text = str(value)
        if text.startswith(("http://", "https://")):
            # Offline emulator: remember the URL as an empty file.
            return files.add(b"", kind, file_name=text.rsplit("/", 1)[-1] or None)
        stored = files.by_id.get(text)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def bot_message(self, bot: BotState, p: Params, action: str) -> tuple[ChatLog, JSON]:
        if p.string("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.chat(p)
        log = bot.logs.get(chat.id)
        message = log.messages.get(p.req_int("message_id")) if log else None
        if log is None or message is None:
            raise bad_request(f"message to {action} not found")
        if not sent_by_bot(message, bot.user.id):
            raise bad_request("message can't be edited")
        return log, message

    # -------------------------------------------------------------- identity

    def m_getMe(self, bot: BotState, p: Params) -> JSON:
        return {
            **bot.user.json,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def m_logOut(self, bot: BotState, p: Params) -> bool:
        return True

    def m_close(self, bot: BotState, p: Params) -> bool:
        return True

    # --------------------------------------------------------------- webhook

    def m_setWebhook(self, bot: BotState, p: Params) -> bool:
        url = p.string("url") or ""
        if not url:
            return self.m_deleteWebhook(bot, p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.string("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = p.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = p.json("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = frozenset(map(str, allowed)) if allowed else None
        if p.flag("drop_pending_updates"):
            bot.pending.clear()
            bot.redeliveries.clear()
        bot.webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=allowed if isinstance(allowed, list) else None,
        )
        self.on_webhook_change(bot)
        return True

    def m_deleteWebhook(self, bot: BotState, p: Params) -> bool:
        if bot.webhook is not None:
            bot.webhook = None
            self.on_webhook_change(bot)
        if p.flag("drop_pending_updates"):
            bot.pending.clear()
            bot.redeliveries.clear()
        return True

    def m_getWebhookInfo(self, bot: BotState, p: Params) -> JSON:
        pending = bot.pending_count() + bot.in_delivery
        if bot.webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        return bot.webhook.info(pending)

    # -------------------------------------------------------------- messages

    def m_sendMessage(self, bot: BotState, p: Params) -> JSON:
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        text, entities = self.text(p)
        markup, keyboard = self.markup(bot, p)
        log = bot.log(chat)
        reply = self.reply_to(log, p)
        self.rate_limit(bot, chat)
        fields: JSON = {"text": text}
        if entities:
            fields["entities"] = entities
        preview = p.json("link_preview_options")
        if isinstance(preview, dict) and preview:
            fields["link_preview_options"] = preview
        return self.post(bot, chat, fields, markup=markup, keyboard=keyboard, reply=reply, log=log)

    def _send_file(self, bot: BotState, p: Params, kind: str) -> JSON:
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        stored = self.input_file(p, kind, kind)
        caption, entities = self.caption(p)
        markup, keyboard = self.markup(bot, p)
        log = bot.log(chat)
        reply = self.reply_to(log, p)
        self.rate_limit(bot, chat)
        fields: JSON = {kind: stored.photo_json() if kind == "photo" else stored.document_json()}
        if caption:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        if p.flag("has_spoiler"):
            fields["has_media_spoiler"] = True
        return self.post(bot, chat, fields, markup=markup, keyboard=keyboard, reply=reply, log=log)

    def m_sendPhoto(self, bot: BotState, p: Params) -> JSON:
        return self._send_file(bot, p, "photo")

    def m_sendDocument(self, bot: BotState, p: Params) -> JSON:
        return self._send_file(bot, p, "document")

    def m_sendMediaGroup(self, bot: BotState, p: Params) -> list[JSON]:
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        media = p.json("media")
        if not isinstance(media, list) or not media:
            raise bad_request('parameter "media" is required')
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        kinds = {str(item.get("type")) for item in media if isinstance(item, dict)}
        if not kinds <= {"photo", "document"}:
            raise bad_request(f"unsupported media type: {sorted(kinds)}")
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        prepared: list[JSON] = []
        for item in media:
            kind = str(item["type"])
            stored = self.input_file(p, kind, kind, value=item.get("media") or "")
            fields: JSON = {
                kind: stored.photo_json() if kind == "photo" else stored.document_json()
            }
            if item.get("caption"):
                text, entities = format_text(
                    str(item["caption"]), item.get("parse_mode"), item.get("caption_entities")
                )
                if len(text) > MAX_CAPTION:
                    raise bad_request("message caption is too long")
                fields["caption"] = text
                if entities:
                    fields["caption_entities"] = entities
            prepared.append(fields)
        log = bot.log(chat)
        reply = self.reply_to(log, p)
        self.rate_limit(bot, chat)
        group_id = str(13_000_000_000_000_000 + secrets.randbelow(10**15))
        return [
            self.post(bot, chat, {"media_group_id": group_id, **fields}, reply=reply, log=log)
            for fields in prepared
        ]

    def _copy(self, bot: BotState, p: Params, forward: bool) -> tuple[Chat, JSON, JSON]:
        source_chat = self.chat(p, "from_chat_id")
        log = bot.logs.get(source_chat.id)
        source = log.messages.get(p.req_int("message_id")) if log else None
        action = "forward" if forward else "copy"
        if source is None:
            raise bad_request(f"message to {action} not found")
        if "invoice" in source or "successful_payment" in source:
            raise bad_request(
                f"message can't be {action}ed" if forward else "message can't be copied"
            )
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        fields = {k: v for k, v in source.items() if k not in _ENVELOPE}
        return chat, source, fields

    def m_copyMessage(self, bot: BotState, p: Params) -> JSON:
        chat, _, fields = self._copy(bot, p, False)
        if "caption" in p.data and any(k in fields for k in _MEDIA_KEYS):
            caption, entities = self.caption(p)
            fields.pop("caption_entities", None)
            fields.pop("caption", None)
            if caption:
                fields["caption"] = caption
                if entities:
                    fields["caption_entities"] = entities
        markup, keyboard = self.markup(bot, p)
        log = bot.log(chat)
        reply = self.reply_to(log, p)
        self.rate_limit(bot, chat)
        message = self.post(
            bot, chat, fields, markup=markup, keyboard=keyboard, reply=reply, log=log
        )
        return {"message_id": message["message_id"]}

    def m_forwardMessage(self, bot: BotState, p: Params) -> JSON:
        chat, source, fields = self._copy(bot, p, True)
        if "from" in source:
            origin: JSON = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        else:
            origin = {
                "type": "channel",
                "date": source["date"],
                "chat": source["chat"],
                "message_id": source["message_id"],
            }
        self.rate_limit(bot, chat)
        return self.post(bot, chat, {"forward_origin": origin, **fields})

    def m_editMessageText(self, bot: BotState, p: Params) -> JSON:
        log, message = self.bot_message(bot, p, "edit")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self.text(p)
        markup, _ = self.markup(bot, p)
        if (
            message["text"] == text
            and message.get("entities") == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        _set(message, "entities", entities)
        _set(message, "reply_markup", markup)
        message["edit_date"] = now()
        log.changed()
        return message

    def m_editMessageCaption(self, bot: BotState, p: Params) -> JSON:
        log, message = self.bot_message(bot, p, "edit")
        if not any(k in message for k in _MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self.caption(p)
        markup, _ = self.markup(bot, p)
        if (
            message.get("caption") == caption
            and message.get("caption_entities") == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        _set(message, "caption", caption or None)
        _set(message, "caption_entities", entities)
        _set(message, "reply_markup", markup)
        message["edit_date"] = now()
        log.changed()
        return message

    def m_editMessageReplyMarkup(self, bot: BotState, p: Params) -> JSON:
        log, message = self.bot_message(bot, p, "edit")
        markup, _ = self.markup(bot, p)
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        _set(message, "reply_markup", markup)
        message["edit_date"] = now()
        log.changed()
        return message

    def _delete(self, bot: BotState, chat: Chat, message_id: int) -> None:
        log = bot.logs.get(chat.id)
        message = log.messages.get(message_id) if log else None
        if log is None or message is None:
            raise bad_request("message to delete not found")
        if (
            not chat.is_private
            and message.get("from", {}).get("id") != bot.user.id
            and chat.members.get(bot.user.id) not in ("administrator", "creator")
        ):
            raise bad_request("message can't be deleted")
        del log.messages[message_id]
        log.changed()

    def m_deleteMessage(self, bot: BotState, p: Params) -> bool:
        self._delete(bot, self.chat(p), p.req_int("message_id"))
        return True

    def m_deleteMessages(self, bot: BotState, p: Params) -> bool:
        chat = self.chat(p)
        ids = p.json("message_ids") or []
        log = bot.logs.get(chat.id)
        for message_id in ids:
            if log is not None and int(message_id) in log.messages:
                self._delete(bot, chat, int(message_id))
        return True

    def m_sendChatAction(self, bot: BotState, p: Params) -> bool:
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        if not p.string("action"):
            raise bad_request("wrong parameter action in request")
        return True

    # ---------------------------------------------------------------- queries

    def m_answerCallbackQuery(self, bot: BotState, p: Params) -> bool:
        query = bot.callbacks.get(p.req_str("callback_query_id"))
        if query is None or query.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        if len(p.string("text") or "") > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer: JSON = {"show_alert": p.flag("show_alert")}
        for key in ("text", "url"):
            value = p.string(key)
            if value is not None:
                answer[key] = value
        cache_time = p.integer("cache_time")
        if cache_time is not None:
            answer["cache_time"] = cache_time
        _answer(query, answer)
        return True

    def m_answerPreCheckoutQuery(self, bot: BotState, p: Params) -> bool:
        query = bot.pre_checkouts.get(p.req_str("pre_checkout_query_id"))
        if query is None or query.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        ok = p.flag("ok")
        error_message = p.string("error_message")
        if not ok and not error_message:
            raise bad_request("ERROR_MESSAGE_EMPTY")
        _answer(query, {"ok": ok, "error_message": error_message})
        return True

    # ---------------------------------------------------------------- chats

    def m_getChat(self, bot: BotState, p: Params) -> JSON:
        return self.chat(p).full_info()

    def m_getChatMember(self, bot: BotState, p: Params) -> JSON:
        chat = self.chat(p)
        user = self.state.users.get(p.req_int("user_id"))
        if user is None:
            raise bad_request("user not found")
        if not chat.is_private:
            bot_status = chat.members.get(bot.user.id, "left")
            if chat.type == "channel" and bot_status not in ("administrator", "creator"):
                raise bad_request("member list is inaccessible")
            if bot_status not in PRESENT_STATUSES:
                raise forbidden(f"bot is not a member of the {chat.type} chat")
        return chat_member_json(user, chat.status(user.id), chat.type)

    def m_getChatMemberCount(self, bot: BotState, p: Params) -> int:
        chat = self.chat(p)
        if chat.is_private:
            return 2
        return sum(1 for s in chat.members.values() if s in PRESENT_STATUSES)

    def m_getChatAdministrators(self, bot: BotState, p: Params) -> list[JSON]:
        chat = self.chat(p)
        users = self.state.users
        return [
            chat_member_json(users[uid], status, chat.type)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator") and uid in users
        ]

    # -------------------------------------------------------------- commands

    def _commands_key(self, bot: BotState, p: Params) -> tuple[str, str]:
        """The list a call names: its scope (a chat scope's chat must be known to the bot,
        its id resolved from an @username) and its language (two letters, or none)."""
        scope = p.json("scope")
        key = _scope_key(scope)
        if isinstance(scope, dict) and "chat_id" in scope:
            chat_id = scope["chat_id"]
            if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            chat = self.state.find_chat(chat_id)
            if chat is None or (chat.is_private and chat.id not in bot.started):
                raise bad_request("chat not found")
            if scope["type"] == "chat_member" and chat.is_private:
                raise bad_request("can't use BotCommandScopeChatMember in private chats")
            key = key.replace(f":{scope['chat_id']}", f":{chat.id}", 1)
        language = p.string("language_code") or ""
        if language and not _LANGUAGE_CODE_RE.match(language):
            raise bad_request("invalid language code specified")
        return key, language

    def m_setMyCommands(self, bot: BotState, p: Params) -> bool:
        """Telegram's limits: at most 100 commands; a name of 1-32 characters of a-z, 0-9 and
        _; a description of 1-256 characters. An empty list deletes the scope's list."""
        commands = p.json("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            name = str(item.get("command", "")) if isinstance(item, dict) else ""
            description = str(item.get("description", "")) if isinstance(item, dict) else ""
            if not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(bot, p)
        if cleaned:
            bot.commands[key] = cleaned
        else:
            bot.commands.pop(key, None)
        return True

    def m_getMyCommands(self, bot: BotState, p: Params) -> list[JSON]:
        return bot.commands.get(self._commands_key(bot, p), [])

    def m_deleteMyCommands(self, bot: BotState, p: Params) -> bool:
        bot.commands.pop(self._commands_key(bot, p), None)
        return True

    def _set_text(self, bot: BotState, p: Params, kind: str, limit: int) -> bool:
        value = p.string(kind) or ""
        if len(value) > limit:
            raise bad_request(f"{kind.upper()}_INVALID")
        bot.description.setdefault(kind, {})[p.string("language_code") or ""] = value
        return True

    def _get_text(self, bot: BotState, p: Params, kind: str) -> JSON:
        return {kind: bot.description.get(kind, {}).get(p.string("language_code") or "", "")}

    def m_setMyDescription(self, bot: BotState, p: Params) -> bool:
        return self._set_text(bot, p, "description", 512)

    def m_getMyDescription(self, bot: BotState, p: Params) -> JSON:
        return self._get_text(bot, p, "description")

    def m_setMyShortDescription(self, bot: BotState, p: Params) -> bool:
        return self._set_text(bot, p, "short_description", 120)

    def m_getMyShortDescription(self, bot: BotState, p: Params) -> JSON:
        return self._get_text(bot, p, "short_description")

    def m_setMyName(self, bot: BotState, p: Params) -> bool:
        return self._set_text(bot, p, "name", 64)

    def m_getMyName(self, bot: BotState, p: Params) -> JSON:
        return self._get_text(bot, p, "name")

    def m_setChatMenuButton(self, bot: BotState, p: Params) -> bool:
        """The menu button of one private chat, or (no chat_id) the default of every chat."""
        button = p.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict):
            raise bad_request("can't parse menu button JSON object")
        kind = button.get("type")
        if kind == "web_app":
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            web_app_url(button.get("web_app"), "menu button")
            button = {"type": "web_app", "text": text, "web_app": {"url": button["web_app"]["url"]}}
        elif kind in ("commands", "default"):
            button = {"type": kind}
        else:
            raise bad_request("BUTTON_TYPE_INVALID")
        chat_id = 0
        if p.string("chat_id") is not None:
            chat = self.chat(p)
            if chat.type != "private":
                raise bad_request("chat not found")
            chat_id = chat.id
        if kind == "default":
            bot.menu_buttons.pop(chat_id, None)
        else:
            bot.menu_buttons[chat_id] = button
        return True

    def m_getChatMenuButton(self, bot: BotState, p: Params) -> JSON:
        """A chat's own menu button, else the bot's default, else the command list."""
        chat_id = self.chat(p).id if p.string("chat_id") is not None else 0
        return bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(0) or {"type": "commands"}

    def m_setMyDefaultAdministratorRights(self, bot: BotState, p: Params) -> bool:
        return True

    # ----------------------------------------------------------------- files

    def m_getFile(self, bot: BotState, p: Params) -> JSON:
        stored = self.state.files.by_id.get(p.req_str("file_id"))
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.file_json()

    # -------------------------------------------------------------- payments

    def _invoice(self, p: Params) -> Invoice:
        title, description = p.req_str("title"), p.req_str("description")
        payload, currency = p.req_str("payload"), p.req_str("currency")
        if not 1 <= len(title) <= 32:
            raise bad_request("INVOICE_TITLE_INVALID")
        if not 1 <= len(description) <= 255:
            raise bad_request("INVOICE_DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        prices = p.json("prices")
        if not isinstance(prices, list) or not prices:
            raise bad_request('parameter "prices" is required')
        if currency == "XTR" and len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID")
        invoice = Invoice(
            title=title,
            description=description,
            payload=payload,
            currency=currency,
            prices=prices,
            start_parameter=p.string("start_parameter") or "",
        )
        if invoice.total_amount <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        return invoice

    def m_sendInvoice(self, bot: BotState, p: Params) -> JSON:
        chat = self.chat(p)
        self.check_can_send(bot, chat)
        invoice = self._invoice(p)
        markup, _ = self.markup(bot, p)
        log = bot.log(chat)
        reply = self.reply_to(log, p)
        self.rate_limit(bot, chat)
        message = self.post(
            bot, chat, {"invoice": invoice.to_json()}, markup=markup, reply=reply, log=log
        )
        bot.invoices[(chat.id, message["message_id"])] = invoice
        return message

    def m_createInvoiceLink(self, bot: BotState, p: Params) -> str:
        invoice = self._invoice(p)
        slug = secrets.token_urlsafe(12)
        bot.invoice_links[slug] = invoice
        return f"https://t.me/${slug}"

    def m_refundStarPayment(self, bot: BotState, p: Params) -> bool:
        charge = bot.charges.get(p.req_str("telegram_payment_charge_id"))
        if charge is None:
            raise bad_request("CHARGE_NOT_FOUND")
        if charge.user_id != p.req_int("user_id"):
            raise bad_request("USER_ID_INVALID")
        if charge.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        return True


def validate_inline(markup: JSON) -> None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array'
        )
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
    _check_size(rows, INLINE_ROW, INLINE_TOTAL)
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")


def web_app_url(app: Any, where: str) -> str:
    """A WebAppInfo's URL: HTTPS, as Telegram requires (plain HTTP only to this machine, as
    Telegram's test environment allows it: the demo serves its Mini App so)."""
    url = app.get("url") if isinstance(app, dict) else None
    if not isinstance(url, str) or not url:
        raise bad_request(f'can\'t parse {where}: field "url" must be of type String')
    if not (url.startswith("https://") or _LOOPBACK_HTTP.match(url)):
        raise bad_request(f"{where} Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    return url


def _check_size(rows: list[Any], per_row: int, total: int) -> None:
    sizes = [len(row) for row in rows if isinstance(row, list)]
    if any(size > per_row for size in sizes) or sum(sizes) > total:
        raise bad_request(MARKUP_TOO_LONG)


def _set(message: JSON, key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _answer(query: PendingAnswer, answer: JSON) -> None:
    query.answer = answer
    query.answered.set()


__all__ = ["ApiError", "BotApi", "validate_inline", "web_app_url"]
