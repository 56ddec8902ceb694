"""Control API: lets tests and demos act as Telegram users and admins.

All routes live under ``/control`` and speak JSON. Errors are answered with a 4xx status and
``{"error": "..."}``. ``{token}`` is a bot token (auto-registered like on the Bot API side).
See docs/emulator.md for the full reference with bodies and answers.

Global::

    GET    /control/health
    POST   /control/reset                       clear everything but bot registrations
    GET    /control/bots                        registered bots
    POST   /control/bots                        {token, username?, first_name?}
    POST   /control/users                       {first_name, last_name?, username?, ...}
    GET    /control/users/{user_id}
    GET    /control/chats/{chat_id}
    GET    /control/files/{file_id}             raw bytes

Per bot (prefix ``/control/bots/{token}``)::

    GET    ""                                   bot user, webhook, pending updates
    POST   /chats                               {type, title, member_ids, username?, ...}
    PUT    /chats/{chat_id}/members/{user_id}   {status}
    GET    /chats/{chat_id}/messages            ?from_bot=&after_id=&version=&timeout=
    GET    /chats/{chat_id}/keyboard            latest reply keyboard
    GET    /watch                               ?chats=&after=&versions=&timeout= bot
                                                messages per chat, waits for a change
    POST   /messages                            a user sends text/contact/photo/document
    POST   /albums                              a user sends an album of photos
    POST   /callbacks                           a user presses an inline button
    GET    /callbacks/{query_id}                ?timeout= waits for answerCallbackQuery
    POST   /reply-buttons                       a user presses a reply-keyboard button
    POST   /payments                            a user pays an invoice message or link
    GET    /payments                            charges (with refund state)
    PUT    /blocks/{user_id}                    the user blocks the bot
    DELETE /blocks/{user_id}                    the user unblocks it
    POST   /updates                             inject a raw update
    POST   /updates/{update_id}/redeliver       deliver an update again, same update_id
    GET    /updates/last                        the most recent queued update
    GET    /commands                            ?scope=default&language_code=
    GET    /commands/visible                    ?chat_id=&user_id=&language_code= (resolved)
    GET    /settings                            descriptions, names, menu buttons
    PUT    /rate-limits                         {enabled, per_second, ...}
    GET    /faults  POST /faults  DELETE /faults       {method, error_code, times|rate, body}
    PUT    /latency                             {seconds}
    GET    /stats
    GET    /webhook
    PUT    /webhook-targets                     {urls}: deliver round-robin to these instead
    GET    /webhook-targets                     the targets and deliveries made to each
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .params import Params
from .state import JSON, BotState, chat_member_json, sent_by_bot, wait_any
from .users import ControlError

if TYPE_CHECKING:
    from .server import Emulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_WAIT_CAP = 60.0
_EMPTY = Params()


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        content_type="application/json",
    )


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as exc:
            return _ok({"error": exc.message}, exc.status)
        except (KeyError, TypeError, ValueError) as exc:
            return _ok({"error": f"bad request: {type(exc).__name__}: {exc}"}, 400)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _opt_int(value: Any, name: str) -> int | None:
    return None if value is None or value == "" else _int(value, name)


def _timeout(request: web.Request, default: float) -> float:
    return min(float(request.query.get("timeout", default)), _WAIT_CAP)


def control_routes(emu: Emulator) -> list[web.RouteDef]:
    state = emu.state
    users = emu.users

    def bot_of(request: web.Request) -> BotState:
        bot = emu.bot(request.match_info["token"])
        if bot is None:
            raise ControlError(404, "unknown bot token (register it with POST /control/bots)")
        return bot

    # ------------------------------------------------------------- global

    async def health(request: web.Request) -> web.Response:
        return _ok({"ok": True})

    async def reset(request: web.Request) -> web.Response:
        emu.reset()
        return _ok({"ok": True})

    async def list_bots(request: web.Request) -> web.Response:
        return _ok([{"token": b.token, "user": b.user.json} for b in state.bots.values()])

    async def register_bot(request: web.Request) -> web.Response:
        body = await _body(request)
        token = str(body.get("token") or "")
        if ":" not in token:
            raise ControlError(400, "token must look like 123456:ABC...")
        bot = state.register_bot(
            token, username=body.get("username"), first_name=body.get("first_name")
        )
        bot.limiter.enabled = emu.rate_limits
        return _ok({"token": token, "user": bot.user.json})

    async def create_user(request: web.Request) -> web.Response:
        body = await _body(request)
        user_id = _opt_int(body.get("user_id") or body.get("id"), "user_id")
        if user_id is not None and user_id in state.users:
            raise ControlError(409, f"user {user_id} already exists")
        user = state.add_user(
            str(body.get("first_name") or "User"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
            user_id=user_id,
            is_premium=bool(body.get("is_premium")),
            phone_number=body.get("phone_number"),
        )
        return _ok({**user.json, "phone_number": user.phone_number}, 201)

    async def get_user(request: web.Request) -> web.Response:
        user = users.user(_int(request.match_info["user_id"], "user_id"))
        return _ok({**user.json, "phone_number": user.phone_number})

    async def get_chat(request: web.Request) -> web.Response:
        chat = users.chat(_int(request.match_info["chat_id"], "chat_id"))
        members = [
            chat_member_json(state.users[uid], status, chat.type)
            for uid, status in chat.members.items()
            if uid in state.users
        ]
        return _ok({"chat": chat.json, "members": members})

    async def get_file(request: web.Request) -> web.Response:
        stored = state.files.by_id.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "unknown file_id")
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # -------------------------------------------------------------- per bot

    async def bot_info(request: web.Request) -> web.Response:
        bot = bot_of(request)
        return _ok(
            {
                "token": bot.token,
                "user": bot.user.json,
                "webhook": bot.webhook.info(bot.pending_count()) if bot.webhook else None,
                "pending_updates": bot.pending_count() + bot.in_delivery,
                "blocked": sorted(bot.blocked),
                "started": sorted(bot.started),
            }
        )

    async def mark_started(request: web.Request) -> web.Response:
        """Users who have opened the bot already (so it may write to them), in bulk."""
        bot = bot_of(request)
        body = await _body(request)
        ids = [_int(uid, "user_ids") for uid in body.get("user_ids") or []]
        for uid in ids:
            users.user(uid)  # 404 for an unknown user
        bot.started.update(ids)
        return _ok({"started": len(ids)})

    async def create_chat(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        chat = users.create_chat(
            bot,
            str(body.get("type") or "supergroup"),
            str(body.get("title") or "Group"),
            [_int(uid, "member_ids") for uid in body.get("member_ids") or []],
            username=body.get("username"),
            bot_status=str(body.get("bot_status") or "administrator"),
            creator_id=_opt_int(body.get("creator_id"), "creator_id"),
        )
        return _ok({"id": chat.id, "chat": chat.json}, 201)

    async def set_member(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        users.set_member(
            bot,
            _int(request.match_info["chat_id"], "chat_id"),
            _int(request.match_info["user_id"], "user_id"),
            str(body.get("status")),
        )
        return _ok({"ok": True})

    async def chat_messages(request: web.Request) -> web.Response:
        bot = bot_of(request)
        chat = users.chat(_int(request.match_info["chat_id"], "chat_id"))
        log = bot.log(chat)
        query = request.query
        version = _opt_int(query.get("version"), "version")
        if version is not None and log.version == version:
            await log.wait(_timeout(request, 5.0))
        after_id = _int(query.get("after_id", 0), "after_id")
        from_bot = query.get("from_bot", "0").lower() in ("1", "true", "yes")
        bot_id = bot.user.id
        newest_first: list[JSON] = []
        for message in reversed(log.messages.values()):
            if message["message_id"] <= after_id:
                break
            if from_bot and not sent_by_bot(message, bot_id):
                continue
            newest_first.append(message)
        newest_first.reverse()
        return _ok({"version": log.version, "messages": newest_first})

    async def watch_chats(request: web.Request) -> web.Response:
        """Several chats' bot messages after a given id, waiting (long poll) while none of the
        chats changed since the given versions: the web chat's unread counts, one request
        open at a time however many personas it shows."""
        bot = bot_of(request)
        query = request.query
        ids = [_int(v, "chats") for v in query.get("chats", "").split(",") if v]
        afters = [_int(v, "after") for v in query.get("after", "").split(",") if v]
        versions = [_opt_int(v, "versions") for v in query.get("versions", "").split(",")]
        if not ids or len(afters) != len(ids):
            raise ControlError(400, "chats and after must list as many ids as each other")
        if len(ids) > 100:
            raise ControlError(400, "at most 100 chats")
        logs = [bot.log(users.chat(chat_id)) for chat_id in ids]
        known = len(versions) == len(ids)
        if known and all(log.version == v for log, v in zip(logs, versions, strict=True)):
            await wait_any(logs, _timeout(request, 5.0))
        bot_id = bot.user.id
        chats = []
        for chat_id, log, after in zip(ids, logs, afters, strict=True):
            count = 0
            for message in reversed(log.messages.values()):
                if message["message_id"] <= after:
                    break
                count += sent_by_bot(message, bot_id)
            chats.append({"id": chat_id, "version": log.version, "from_bot": count})
        return _ok({"chats": chats})

    async def chat_keyboard(request: web.Request) -> web.Response:
        bot = bot_of(request)
        log = bot.logs.get(_int(request.match_info["chat_id"], "chat_id"))
        return _ok({"keyboard": log.reply_keyboard if log else None})

    async def post_message(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        user = users.user(_int(body.get("user_id"), "user_id"))
        fields = users.message_fields(user, body)
        message, update = users.send(
            bot,
            user.id,
            fields,
            chat_id=_opt_int(body.get("chat_id"), "chat_id"),
            reply_to_message_id=_opt_int(body.get("reply_to_message_id"), "reply_to_message_id"),
        )
        return _ok({"message": message, "update": update}, 201)

    async def post_album(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        photos = [base64.b64decode(str(item)) for item in body.get("photos") or []]
        sent = users.album(
            bot,
            _int(body.get("user_id"), "user_id"),
            photos,
            body.get("caption"),
            _opt_int(body.get("chat_id"), "chat_id"),
        )
        return _ok({"messages": [m for m, _ in sent], "updates": [u for _, u in sent]}, 201)

    async def press_button(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        query_id, update = users.press_button(
            bot,
            _int(body.get("user_id"), "user_id"),
            _int(body.get("message_id"), "message_id"),
            text=body.get("text"),
            callback_data=body.get("callback_data"),
            chat_id=_opt_int(body.get("chat_id"), "chat_id"),
        )
        return _ok({"id": query_id, "update": update}, 201)

    async def callback_answer(request: web.Request) -> web.Response:
        bot = bot_of(request)
        query = bot.callbacks.get(request.match_info["query_id"])
        if query is None:
            raise ControlError(404, "unknown callback query id")
        if query.answer is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(query.answered.wait(), _timeout(request, 5.0))
        return _ok({"answered": query.answer is not None, "answer": query.answer})

    async def press_reply_button(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        message, update = users.press_reply_button(
            bot,
            _int(body.get("user_id"), "user_id"),
            str(body.get("text")),
            _opt_int(body.get("chat_id"), "chat_id"),
        )
        return _ok({"message": message, "update": update}, 201)

    async def pay(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        result = await users.pay(
            bot,
            _int(body.get("user_id"), "user_id"),
            message_id=_opt_int(body.get("message_id"), "message_id"),
            chat_id=_opt_int(body.get("chat_id"), "chat_id"),
            link=body.get("link"),
            timeout=min(float(body.get("timeout") or 10.0), _WAIT_CAP),
        )
        return _ok(result)

    async def payments(request: web.Request) -> web.Response:
        bot = bot_of(request)
        return _ok({"charges": [c.to_json() for c in bot.charges.values()]})

    async def block(request: web.Request) -> web.Response:
        users.set_blocked(bot_of(request), _int(request.match_info["user_id"], "user_id"), True)
        return _ok({"ok": True})

    async def unblock(request: web.Request) -> web.Response:
        users.set_blocked(bot_of(request), _int(request.match_info["user_id"], "user_id"), False)
        return _ok({"ok": True})

    async def push_update(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        if not any(key != "update_id" for key in body):
            raise ControlError(400, "an update needs a payload such as message")
        return _ok(bot.push_raw(body), 201)

    async def redeliver(request: web.Request) -> web.Response:
        bot = bot_of(request)
        update_id = _int(request.match_info["update_id"], "update_id")
        if not bot.redeliver(update_id):
            raise ControlError(404, f"update {update_id} is not in the update log")
        return _ok({"ok": True, "update_id": update_id})

    async def last_update(request: web.Request) -> web.Response:
        update = bot_of(request).last_update()
        if update is None:
            raise ControlError(404, "no updates yet")
        return _ok(update)

    async def commands(request: web.Request) -> web.Response:
        bot = bot_of(request)
        key = (request.query.get("scope", "default"), request.query.get("language_code", ""))
        return _ok(bot.commands.get(key, []))

    async def visible_commands(request: web.Request) -> web.Response:
        bot = bot_of(request)
        chat = state.find_chat(int(request.query["chat_id"]))
        if chat is None:
            raise ControlError(404, "no such chat")
        user_id = int(request.query.get("user_id", chat.id))
        admin = chat.members.get(user_id) in ("creator", "administrator")
        language = request.query.get("language_code", "")
        return _ok(bot.visible_commands(chat, user_id, language, chat_admin=admin))

    async def settings(request: web.Request) -> web.Response:
        bot = bot_of(request)
        return _ok(
            {
                "texts": bot.description,
                "menu_buttons": {str(k): v for k, v in bot.menu_buttons.items()},
                "commands": [
                    {"scope": scope, "language_code": lang, "commands": cmds}
                    for (scope, lang), cmds in bot.commands.items()
                ],
            }
        )

    async def rate_limits(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        bot.limiter.configure(
            bool(body.get("enabled", True)),
            float(body.get("per_second", 30)),
            float(body.get("per_chat_per_second", 1)),
            float(body.get("per_group_per_minute", 20)),
        )
        if "private_burst" in body:
            bot.limiter.private_burst = float(body["private_burst"])
        return _ok({"ok": True})

    async def list_faults(request: web.Request) -> web.Response:
        return _ok([f.to_json() for f in bot_of(request).faults])

    async def add_fault(request: web.Request) -> web.Response:
        bot = bot_of(request)
        body = await _body(request)
        chat_id = body.get("chat_id")
        fault = emu.add_fault(
            bot,
            str(body.get("method") or "*"),
            _int(body.get("error_code"), "error_code"),
            description=body.get("description"),
            retry_after=_opt_int(body.get("retry_after"), "retry_after"),
            times=_int(body.get("times", 1), "times"),
            chat_id=chat_id if chat_id is None or isinstance(chat_id, str) else int(chat_id),
            rate=None if body.get("rate") is None else float(body["rate"]),
            body=str(body.get("body") or "json"),
        )
        if body.get("seed") is not None:
            bot.random.seed(body["seed"])  # a reproducible sequence of failures
        return _ok(fault.to_json(), 201)

    async def clear_faults(request: web.Request) -> web.Response:
        bot_of(request).faults.clear()
        return _ok({"ok": True})

    async def latency(request: web.Request) -> web.Response:
        body = await _body(request)
        bot_of(request).latency = max(0.0, float(body.get("seconds", 0)))
        return _ok({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        return _ok(bot_of(request).stats.to_json())

    async def webhook(request: web.Request) -> web.Response:
        bot = bot_of(request)
        info = emu.api.m_getWebhookInfo(bot, _EMPTY)
        return _ok(info)

    async def set_webhook_targets(request: web.Request) -> web.Response:
        bot = bot_of(request)
        urls = (await _body(request)).get("urls")
        if not isinstance(urls, list) or not all(
            isinstance(url, str) and url.startswith(("http://", "https://")) for url in urls
        ):
            raise ControlError(400, "urls: a list of http(s) URLs (empty: the webhook's own URL)")
        bot.webhook_targets = list(urls)
        bot.webhook_turn = 0
        bot.webhook_target_deliveries = dict.fromkeys(urls, 0)
        return _ok({"ok": True})

    async def get_webhook_targets(request: web.Request) -> web.Response:
        bot = bot_of(request)
        return _ok({"urls": bot.webhook_targets, "deliveries": bot.webhook_target_deliveries})

    b = "/control/bots/{token}"
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/control/health", health),
        ("POST", "/control/reset", reset),
        ("GET", "/control/bots", list_bots),
        ("POST", "/control/bots", register_bot),
        ("POST", "/control/users", create_user),
        ("GET", "/control/users/{user_id}", get_user),
        ("GET", "/control/chats/{chat_id}", get_chat),
        ("GET", "/control/files/{file_id}", get_file),
        ("GET", b, bot_info),
        ("POST", f"{b}/chats", create_chat),
        ("PUT", b + "/chats/{chat_id}/members/{user_id}", set_member),
        ("GET", b + "/chats/{chat_id}/messages", chat_messages),
        ("GET", f"{b}/watch", watch_chats),
        ("GET", b + "/chats/{chat_id}/keyboard", chat_keyboard),
        ("POST", f"{b}/messages", post_message),
        ("POST", f"{b}/albums", post_album),
        ("POST", f"{b}/callbacks", press_button),
        ("GET", b + "/callbacks/{query_id}", callback_answer),
        ("POST", f"{b}/reply-buttons", press_reply_button),
        ("POST", f"{b}/payments", pay),
        ("GET", f"{b}/payments", payments),
        ("PUT", b + "/blocks/{user_id}", block),
        ("POST", f"{b}/started", mark_started),
        ("DELETE", b + "/blocks/{user_id}", unblock),
        ("POST", f"{b}/updates", push_update),
        ("POST", b + "/updates/{update_id}/redeliver", redeliver),
        ("GET", f"{b}/updates/last", last_update),
        ("GET", f"{b}/commands", commands),
        ("GET", f"{b}/commands/visible", visible_commands),
        ("GET", f"{b}/settings", settings),
        ("PUT", f"{b}/rate-limits", rate_limits),
        ("GET", f"{b}/faults", list_faults),
        ("POST", f"{b}/faults", add_fault),
        ("DELETE", f"{b}/faults", clear_faults),
        ("PUT", f"{b}/latency", latency),
        ("GET", f"{b}/stats", stats),
        ("GET", f"{b}/webhook", webhook),
        ("PUT", f"{b}/webhook-targets", set_webhook_targets),
        ("GET", f"{b}/webhook-targets", get_webhook_targets),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
