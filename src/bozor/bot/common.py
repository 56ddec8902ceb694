"""Core conversation: /start without a feature payload, /help, /language, and the fallback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    ChatMemberUpdated,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.keyboards import BACK, feature_menu, feature_menus, language_picker, main_menu
from bozor.featurekit import Command as MenuCommand
from bozor.featurekit import Feature
from bozor.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, all_translations
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User

log = logging.getLogger(__name__)

CORE_COMMANDS = ("start", "help", "language")
# The core's admin commands (headed "Broadcasts" in an admin's /help).
CORE_ADMIN_COMMANDS = (MenuCommand("broadcast", "admin_commands.broadcast"),)


def overview(t: Translator, features: Sequence[Feature], *, admin: bool) -> str:
    """What the bot offers: a line per enabled feature, the core's line and, for an admin,
    the admin commands grouped by feature."""
    lines = [t(feature.intro) for feature in features if feature.intro]
    lines.append(t("about.core.language"))
    text = "\n".join(lines)
    if admin:
        groups = [("about.core.broadcasts", CORE_ADMIN_COMMANDS)] + [
            (feature.title, feature.admin_commands)
            for feature in features
            if feature.admin_commands
        ]
        sections = [
            "\n".join([t(title)] + [f"/{c.name} — {t(c.description_key)}" for c in commands])
            for title, commands in groups
        ]
        text = "\n\n".join([text, t("about.core.admin"), *sections])
    return text


async def welcome_text(
    bot: Bot,
    t: Translator,
    user: User,
    *,
    is_new: bool,
    features: Sequence[Feature],
    settings: Settings,
) -> str:
    """The greeting, then what the bot offers (`overview`)."""
    bot_name = (await bot.me()).first_name
    admin = settings.is_admin(user.telegram_id or 0)
    name = user.first_name or user.full_name
    if is_new:
        greeting = t("start.welcome", bot=bot_name, name=name)
    else:
        greeting = t("start.welcome_back", name=name)
    return f"{greeting}\n\n{overview(t, features, admin=admin)}"


async def start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    user: User,
    user_is_new: bool,
    t: Translator,
    settings: Settings,
    features: Sequence[Feature],
) -> SendMessage:
    text = await welcome_text(
        bot, t, user, is_new=user_is_new, features=features, settings=settings
    )
    if command.args:  # a deep link no feature recognised
        text = f"{text}\n\n{t('start.bad_link')}"
    if settings.is_admin(message.chat.id):  # now that Telegram knows the chat
        await register_admin_commands(bot, features, message.chat.id, user.language)
    return message.answer(text, reply_markup=main_menu(t, settings.features))


async def help_(
    message: Message,
    bot: Bot,
    user: User,
    t: Translator,
    settings: Settings,
    features: Sequence[Feature],
) -> SendMessage:
    bot_name = (await bot.me()).first_name
    admin = settings.is_admin(user.telegram_id or 0)
    text = f"{t('help.text', bot=bot_name)}\n\n{overview(t, features, admin=admin)}"
    return message.answer(text, reply_markup=main_menu(t, settings.features))


def feature_menu_opener(
    feature: Feature,
) -> Callable[[Message, Translator], Awaitable[SendMessage]]:
    """The handler of a feature's button in the main menu: its line and its submenu."""

    async def open_feature_menu(message: Message, t: Translator) -> SendMessage:
        return message.answer(
            t(feature.intro or "menu.placeholder"), reply_markup=feature_menu(t, feature.name)
        )

    return open_feature_menu


async def back_to_main_menu(message: Message, t: Translator, settings: Settings) -> SendMessage:
    return message.answer(t("menu.placeholder"), reply_markup=main_menu(t, settings.features))


async def choose_language(message: Message, t: Translator) -> SendMessage:
    return message.answer(t("language.choose"), reply_markup=language_picker().as_markup())


async def set_language(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    features: Sequence[Feature],
) -> None:
    language = (query.data or "").removeprefix("lang:")
    await users_service.set_language(session=session, user=user, language=language)
    await session.commit()  # what follows tells the user it is saved
    t = Translator(language)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("language.changed"))
    # The chat's own list, in the chosen language (an admin's with the admin commands).
    if settings.is_admin(query.from_user.id):
        await register_admin_commands(bot, features, query.from_user.id, language)
    else:
        await bot.set_my_commands(
            command_list(t, features), scope=BotCommandScopeChat(chat_id=query.from_user.id)
        )
    await bot.send_message(
        user.telegram_id or query.from_user.id,
        t("menu.placeholder"),
        reply_markup=main_menu(t, settings.features),
    )


async def block_changed(update: ChatMemberUpdated, user: User) -> None:
    """Telegram tells us when a user blocks or unblocks the bot in their private chat."""
    users_service.set_blocked(user, blocked=update.new_chat_member.status == "kicked")


async def fallback(message: Message, t: Translator, settings: Settings) -> SendMessage:
    return message.answer(t("common.unknown_command"), reply_markup=main_menu(t, settings.features))


async def stale_button(query: CallbackQuery, t: Translator) -> AnswerCallbackQuery:
    """A button nothing handles any more (an old menu, a finished flow): answered, so it does
    not spin, and the member knows to open the menu again."""
    return query.answer(t("common.stale_button"), show_alert=True)


def command_list(
    t: Translator, features: Sequence[Feature], *, admin: bool = False
) -> list[BotCommand]:
    """/start, the features' commands (`Feature.commands`), then /help and /language; for an
    admin, then the core's and the features' admin commands (`Feature.admin_commands`)."""
    commands = [MenuCommand(name) for name in CORE_COMMANDS]
    commands[1:1] = [command for feature in features for command in feature.commands]
    if admin:
        commands += CORE_ADMIN_COMMANDS
        commands += [command for feature in features for command in feature.admin_commands]
    return [
        BotCommand(command=command.name, description=t(command.description_key))
        for command in commands
    ]


async def register_commands(
    bot: Bot, features: Sequence[Feature], admin_ids: Sequence[int] = ()
) -> None:
    """The command menu in every language (Telegram picks by the user's app language): the
    member commands for everyone, and with the admin commands in each admin's chat."""
    await bot.set_my_commands(command_list(Translator(DEFAULT_LANGUAGE), features))
    for language in LANGUAGES:
        await bot.set_my_commands(
            command_list(Translator(language), features), language_code=language
        )
    for admin_id in admin_ids:
        try:
            await register_admin_commands(bot, features, admin_id)
        except TelegramBadRequest as exc:  # "chat not found": set when they start the bot
            log.info("admin %s: commands wait for /start (%s)", admin_id, exc.message)


async def register_admin_commands(
    bot: Bot, features: Sequence[Feature], admin_id: int, language: str | None = None
) -> None:
    """An admin's command menu, in their chat's scope: in each app language, or all in
    `language` (the one they chose with /language)."""
    scope = BotCommandScopeChat(chat_id=admin_id)
    await bot.set_my_commands(
        command_list(Translator(language or DEFAULT_LANGUAGE), features, admin=True),
        scope=scope,
    )
    for code in LANGUAGES:
        await bot.set_my_commands(
            command_list(Translator(language or code), features, admin=True),
            scope=scope,
            language_code=code,
        )


def create_menu_router(features: Sequence[Feature]) -> Router:
    """The buttons that open a feature's submenu, and Back: before every other router, so
    that they work in the middle of a dialogue too (which they leave as it was)."""
    router = Router(name="menus")
    private = F.chat.type == "private"
    menus = feature_menus()
    for feature in features:
        menu = menus.get(feature.name)
        if menu is not None and menu.has_submenu:
            opener = feature_menu_opener(feature)
            router.message.register(opener, F.text.in_(all_translations(menu.title)), private)
    router.message.register(back_to_main_menu, F.text.in_(all_translations(BACK)), private)
    return router


def create_router() -> Router:
    router = Router(name="common")
    private = F.chat.type == "private"
    router.message.register(start, CommandStart(), private)
    router.message.register(help_, Command("help"), private)
    router.message.register(help_, F.text.in_(all_translations("menu.help")), private)
    router.message.register(choose_language, Command("language"), private)
    router.message.register(choose_language, F.text.in_(all_translations("menu.language")), private)
    router.callback_query.register(set_language, F.data.regexp(r"^lang:(en|ru|uz)$"))
    router.my_chat_member.register(block_changed, private)
    router.message.register(fallback, private)
    router.callback_query.register(stale_button)  # last: every press gets an answer
    return router
