"""Saved-search alerts and "Contact the seller" in Telegram: the one-tap unsubscribe, the ad
card, the `/start contact_<ad id>` deep link and the relayed conversation.

Writing a message to the other side is a small state of its own (`ContactForm.writing`).
Whatever state the chat was in (half-way through posting an ad, say) is put back once the
message is sent or cancelled, so the ad's draft is not lost.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories, contact, saved_searches
from bozor.classifieds import service as ads_service
from bozor.classifieds.models import AdState
from bozor.classifieds.search_renderers import REPLY, SHOW_AD, UNSUBSCRIBE, describe
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.classifieds.texts import caption, format_price
from bozor.i18n import Translator, catalogue
from bozor.settings import Settings
from bozor.telegram_limits import fit_button, fit_toast
from bozor.users.models import User

CONTACT_START = "contact_"  # the /start payload: contact_<ad id>
CONTACT_BUTTON = "cm:n:"  # + ad id: the same, from a button in the chat

_AD_KEY = "contact_ad"
_THREAD_KEY = "contact_thread"
_RETURN_KEY = "contact_return"  # the state to go back to


class ContactForm(StatesGroup):
    writing = State()


def _menu_texts() -> frozenset[str]:
    """The main menu's buttons in every language: pressed while writing, they do what they
    say rather than being sent to the other side."""
    found: set[str] = set()
    for language in ("en", "ru", "uz"):
        found |= {str(text) for key, text in catalogue(language).items() if key.startswith("menu.")}
    return frozenset(found)


async def _begin(state: FSMContext, values: dict[str, int], prompt: str) -> str:
    current = await state.get_state()
    data = await state.get_data()
    if current != ContactForm.writing.state:
        data[_RETURN_KEY] = current
    data.pop(_AD_KEY, None)
    data.pop(_THREAD_KEY, None)
    await state.set_data({**data, **values})
    await state.set_state(ContactForm.writing)
    return prompt


async def _end(state: FSMContext) -> None:
    data = await state.get_data()
    back = data.pop(_RETURN_KEY, None)
    data.pop(_AD_KEY, None)
    data.pop(_THREAD_KEY, None)
    await state.set_data(data)
    await state.set_state(back)


async def _start_contact(
    state: FSMContext, session: AsyncSession, user: User, t: Translator, ad_id: int
) -> str:
    ad = await contact.open_ad(session=session, ad_id=ad_id, buyer=user)
    prompt = t(
        "adsearch.contact_prompt",
        title=ad.title,
        price=format_price(t, ad.price, ad.currency),
        max=contact.TEXT_MAX,
    )
    return await _begin(state, {_AD_KEY: ad.id}, prompt)


async def start_contact(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    t: Translator,
) -> SendMessage:
    ad_id = int((command.args or "").removeprefix(CONTACT_START))
    return message.answer(await _start_contact(state, session, user, t, ad_id))


async def contact_button(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User, t: Translator
) -> None:
    ad_id = int((query.data or "").removeprefix(CONTACT_BUTTON))
    prompt = await _start_contact(state, session, user, t, ad_id)
    await query.answer()
    await query.bot.send_message(query.from_user.id, prompt)  # type: ignore[union-attr]


async def reply_button(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User, t: Translator
) -> None:
    thread_id = int((query.data or "").removeprefix(REPLY))
    _, ad = await contact.thread_for(session=session, thread_id=thread_id, user=user)
    prompt = t("adsearch.reply_prompt", title=ad.title, max=contact.TEXT_MAX)
    await _begin(state, {_THREAD_KEY: thread_id}, prompt)
    await query.answer()
    await query.bot.send_message(query.from_user.id, prompt)  # type: ignore[union-attr]


async def write(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    data = await state.get_data()
    hourly = ClassifiedsSettings.of(settings).contact_hourly
    if data.get(_THREAD_KEY):
        await contact.answer(
            session=session,
            thread_id=int(data[_THREAD_KEY]),
            sender=user,
            text=message.text,
            hourly=hourly,
        )
        done = t("adsearch.reply_sent")
    else:
        await contact.write_to_seller(
            session=session,
            ad_id=int(data.get(_AD_KEY) or 0),
            buyer=user,
            text=message.text,
            hourly=hourly,
        )
        done = t("adsearch.contact_sent")
    await _end(state)
    return message.answer(done)


async def cancel(message: Message, state: FSMContext, t: Translator) -> SendMessage:
    await _end(state)
    return message.answer(t("adsearch.contact_cancelled"))


async def not_text(message: Message, t: Translator) -> SendMessage:
    return message.answer(t("adsearch.contact_text_only"))


async def show_ad(
    query: CallbackQuery, session: AsyncSession, t: Translator, settings: Settings
) -> SendMessage | SendPhoto:
    """The ad's card in the chat, with "Contact the seller" while it is published."""
    ad = await ads_service.get(session=session, ad_id=int((query.data or "").removeprefix(SHOW_AD)))
    await query.answer()
    if ad.state != AdState.PUBLISHED:
        return SendMessage(chat_id=query.from_user.id, text=t("adsearch.contact_closed"))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=fit_button(t("adsearch.contact_button")),
                    callback_data=f"{CONTACT_BUTTON}{ad.id}",
                )
            ]
        ]
    )
    text = caption(t, ad, categories.of(settings))
    photos = await ads_service.photos(session=session, ad_id=ad.id)
    if photos and len(text) <= 1024:
        return SendPhoto(
            chat_id=query.from_user.id, photo=photos[0].file_id, caption=text, reply_markup=markup
        )
    return SendMessage(chat_id=query.from_user.id, text=text, reply_markup=markup)


async def unsubscribe(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> AnswerCallbackQuery:
    """One tap under an alert deletes its saved search; the button goes from the message."""
    saved_id = int((query.data or "").removeprefix(UNSUBSCRIBE))
    try:
        saved = await saved_searches.get_own(
            session=session, user_id=user.id, saved_search_id=saved_id
        )
    except saved_searches.SavedSearchNotFoundError:
        answer = t("adsearch.unsubscribed_already")
    else:
        answer = t("adsearch.unsubscribed", search=describe(t, saved, categories.of(settings)))
        await saved_searches.remove(session=session, user_id=user.id, saved_search_id=saved_id)
        await session.commit()  # before the member is told
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        rows = [
            row
            for row in message.reply_markup.inline_keyboard
            if not any((b.callback_data or "").startswith(UNSUBSCRIBE) for b in row)
        ]
        await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
    return query.answer(fit_toast(answer), show_alert=True)


def create_router() -> Router:
    router = Router(name="classifieds.search")
    private = F.chat.type == "private"
    writing = StateFilter(ContactForm.writing)
    router.message.register(
        start_contact,
        CommandStart(deep_link=True, magic=F.args.regexp(rf"^{CONTACT_START}\d{{1,18}}$")),
        private,
    )
    router.message.register(cancel, Command("cancel"), writing, private)
    router.message.register(
        write, writing, F.text, ~F.text.startswith("/"), ~F.text.in_(_menu_texts()), private
    )
    router.message.register(not_text, writing, ~F.text, private)
    router.callback_query.register(contact_button, F.data.regexp(r"^cm:n:\d{1,18}$"))
    router.callback_query.register(reply_button, F.data.regexp(r"^cm:r:\d{1,18}$"))
    router.callback_query.register(show_ad, F.data.regexp(r"^ad:v:\d{1,18}$"))
    router.callback_query.register(unsubscribe, F.data.regexp(r"^ss:off:\d{1,18}$"))
    return router


__all__ = ["ContactForm", "create_router"]
