"""Core conversation: /start without a feature payload, /help, /language, and the fallback."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot, F, Router
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

from bozor.bot.keyboards import language_picker, main_menu
from bozor.featurekit import Command as MenuCommand
from bozor.featurekit import Feature
from bozor.i18n import LANGUAGES, Translator, all_translations
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User

CORE_COMMANDS = ("start", "help", "language")


async def welcome_text(bot: Bot, t: Translator, user: User, *, is_new: bool) -> str:
    bot_name = (await bot.me()).first_name
    key = "start.welcome" if is_new else "start.welcome_back"
    return t(key, bot=bot_name, name=user.first_name or user.full_name)


async def start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    user: User,
    user_is_new: bool,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    text = await welcome_text(bot, t, user, is_new=user_is_new)
    if command.args:  # a deep link no feature recognised
        text = f"{text}\n\n{t('start.bad_link')}"
    return message.answer(text, reply_markup=main_menu(t, settings.features))


async def help_(message: Message, bot: Bot, t: Translator, settings: Settings) -> SendMessage:
    bot_name = (await bot.me()).first_name
    return message.answer(
        t("help.text", bot=bot_name), reply_markup=main_menu(t, settings.features)
    )


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
    await bot.send_message(
        user.telegram_id or query.from_user.id,
        t("menu.placeholder"),
        reply_markup=main_menu(t, settings.features),
    )
    await bot.set_my_commands(
        command_list(t, features), scope=BotCommandScopeChat(chat_id=query.from_user.id)
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


def command_list(t: Translator, features: Sequence[Feature]) -> list[BotCommand]:
    """/start, the features' commands (`Feature.commands`), then /help and /language."""
    commands = [MenuCommand(name) for name in CORE_COMMANDS]
    commands[1:1] = [command for feature in features for command in feature.commands]
    return [
        BotCommand(command=command.name, description=t(command.description_key))
        for command in commands
    ]


async def register_commands(bot: Bot, features: Sequence[Feature]) -> None:
    """The command menu in every language (Telegram picks by the user's app language)."""
    await bot.set_my_commands(command_list(Translator("en"), features))
    for language in LANGUAGES:
        await bot.set_my_commands(
            command_list(Translator(language), features), language_code=language
        )


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
