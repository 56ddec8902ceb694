"""The "Post an ad" dialogue: category, title, description, price, photos, contact, region,
then a preview exactly as the channel will show it with Send / Edit / Cancel.

Everything lives in the FSM until Send: a dialogue left half-way is resumed or cancelled and
nothing is stored half-done. Album photos arrive as separate updates; a per-chat lock keeps
their additions from overwriting each other, and the last one of an album ends the step.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections import defaultdict
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.keyboards import main_menu
from bozor.classifieds import categories, service
from bozor.classifieds.models import Ad
from bozor.classifieds.photos import keep as keep_photo
from bozor.classifieds.schemas import (
    DESCRIPTION_MAX,
    MAX_PHOTOS,
    REGION_MAX,
    TITLE_MAX,
    AdDraft,
    PhotoIn,
)
from bozor.classifieds.texts import caption, parse_price
from bozor.i18n import Translator, all_translations
from bozor.media.storage import MediaStorage
from bozor.settings import Settings
from bozor.users.models import User

log = logging.getLogger(__name__)

ALBUM_SETTLE = 0.8  # seconds without a further photo of the album before the step ends
STEPS = ("category", "title", "description", "price", "photos", "contact", "region")
_PHONE = re.compile(r"^\+?\d{9,15}$")
_USERNAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")


class AdForm(StatesGroup):
    category = State()
    title = State()
    description = State()
    price = State()
    photos = State()
    contact = State()
    region = State()
    preview = State()


STATE_OF = {name: getattr(AdForm, name) for name in STEPS}


class ChatLocks:
    """One lock per chat, so the updates of an album change the draft one at a time.

    With Redis (several instances, whose webhooks a proxy spreads round-robin, so an album's
    photos may reach different instances) the lock is a Redis lock; otherwise an asyncio one.
    Which photo came last is counted in the draft itself (`album_turn`), which the FSM storage
    shares between instances.

    Waiting for an album's last photo happens in a background task (`later`), never inside an
    update's handler: the handler's database transaction would stay open meanwhile, and on
    SQLite it would hold the write lock the album's other updates need.
    """

    def __init__(self, prefix: str = "bozor") -> None:
        self._prefix = prefix
        self._redis: Redis | None = None
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()

    def share(self, redis: Redis | None) -> None:
        """Use Redis locks from now on (the dispatcher's client, when Redis is configured)."""
        self._redis = redis

    def __call__(self, chat_id: int) -> AbstractAsyncContextManager[Any]:
        if self._redis is not None:
            return self._redis.lock(
                f"{self._prefix}:ads-draft:{chat_id}", timeout=30, blocking_timeout=30
            )
        return self._locks[chat_id]

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the current update's handling; failures are logged."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ending an album's photo step failed", exc_info=task.exception())


def _cancel_row(t: Translator) -> list[KeyboardButton]:
    return [KeyboardButton(text=t("ads.cancel"))]


def _keyboard(rows: list[list[KeyboardButton]]) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True)


async def ask(
    step: str, message: Message, t: Translator, settings: Settings, user: User, data: dict[str, Any]
) -> None:
    """Ask the question of a step (with its buttons)."""
    if step == "category":
        builder = InlineKeyboardBuilder()
        kinds = categories.of(settings)
        for slug in kinds.slugs:
            builder.button(text=kinds.name(t.language, slug), callback_data=f"adc:{slug}")
        builder.adjust(2)
        await message.answer(t("ads.ask_category"), reply_markup=_keyboard([_cancel_row(t)]))
        await message.answer(t("ads.pick_category"), reply_markup=builder.as_markup())
        return
    if step == "price":
        rows = [[KeyboardButton(text=t("ads.negotiable"))], _cancel_row(t)]
        await message.answer(t("ads.ask_price"), reply_markup=_keyboard(rows))
        return
    if step == "photos":
        rows = [
            [KeyboardButton(text=t("ads.photos_done")), KeyboardButton(text=t("ads.no_photos"))],
            _cancel_row(t),
        ]
        await message.answer(t("ads.ask_photos", max=MAX_PHOTOS), reply_markup=_keyboard(rows))
        return
    if step == "contact":
        rows = [[KeyboardButton(text=t("ads.share_phone"), request_contact=True)]]
        if user.username:
            rows.append([KeyboardButton(text=f"@{user.username}")])
        rows.append(_cancel_row(t))
        await message.answer(t("ads.ask_contact"), reply_markup=_keyboard(rows))
        return
    if step == "region":
        regions = t("ads.regions").split("|")
        rows = [
            [KeyboardButton(text=name) for name in regions[i : i + 2]]
            for i in range(0, len(regions), 2)
        ]
        rows.append(_cancel_row(t))
        await message.answer(t("ads.ask_region"), reply_markup=_keyboard(rows))
        return
    limits = {"title": TITLE_MAX, "description": DESCRIPTION_MAX}
    await message.answer(
        t(f"ads.ask_{step}", max=limits.get(step, 0)), reply_markup=_keyboard([_cancel_row(t)])
    )


async def go_on(
    step: str,
    message: Message,
    state: FSMContext,
    t: Translator,
    settings: Settings,
    user: User,
) -> None:
    """After `step` is answered: the next step, or back to the preview when editing one."""
    data = await state.get_data()
    if data.get("back"):
        await show_preview(message, state, t, settings)
        return
    following = STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else None
    if following is None:
        await show_preview(message, state, t, settings)
        return
    await state.set_state(STATE_OF[following])
    await ask(following, message, t, settings, user, data)


def draft_ad(data: dict[str, Any], language: str) -> Ad:
    """A transient (never stored) Ad for rendering the preview."""
    return Ad(
        id=data.get("ad_id"),
        category=data["category"],
        title=data["title"],
        description=data["description"],
        price=data.get("price"),
        currency=data.get("currency"),
        contact_phone=data.get("contact_phone"),
        contact_username=data.get("contact_username"),
        region=data["region"],
        language=language,
    )


def preview_keyboard(t: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("ads.send"), callback_data="adf:send")
    builder.button(text=t("ads.edit"), callback_data="adf:edit")
    builder.button(text=t("ads.cancel"), callback_data="adf:cancel")
    builder.adjust(3)
    return builder.as_markup()


async def show_preview(
    message: Message, state: FSMContext, t: Translator, settings: Settings
) -> None:
    """The ad exactly as the channel will show it, then Send / Edit / Cancel."""
    await state.set_state(AdForm.preview)
    await state.update_data(back=False)
    data = await state.get_data()
    text = caption(
        Translator(settings.default_language),
        draft_ad(data, settings.default_language),
        categories.of(settings),
    )
    photos = [str(p["file_id"]) for p in data.get("photos", [])]
    # The main menu comes back here: leaving the preview for another feature is fine, and
    # "Post an ad" offers to continue this one.
    await message.answer(t("ads.preview_intro"), reply_markup=menu(t, settings))
    if len(photos) > 1:
        await message.answer_media_group(
            [
                InputMediaPhoto(media=photo, caption=text if i == 0 else None)
                for i, photo in enumerate(photos)
            ]
        )
    elif photos:
        await message.answer_photo(photos[0], caption=text)
    else:
        await message.answer(text)
    await message.answer(t("ads.preview_question"), reply_markup=preview_keyboard(t))


def edit_keyboard(t: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for step in STEPS:
        builder.button(text=t(f"ads.field.{step}"), callback_data=f"adf:field:{step}")
    builder.button(text=t("ads.back"), callback_data="adf:back")
    builder.adjust(2)
    return builder.as_markup()


# -------------------------------------------------------------------- answers


def clean_text(message: Message) -> str:
    return " ".join((message.text or "").split()) if message.text else ""


def check_title(text: str) -> str | None:
    if not 3 <= len(text) <= TITLE_MAX:
        return "ads.bad_title"
    return None


def check_description(text: str) -> str | None:
    if not 10 <= len(text) <= DESCRIPTION_MAX:
        return "ads.bad_description"
    return None


def parse_contact(message: Message, user: User) -> dict[str, Any] | str:
    """The contact fields, or the key of what is wrong with the answer."""
    if message.contact is not None:
        if message.contact.user_id not in (None, message.chat.id):
            return "ads.not_own_contact"
        phone = "+" + re.sub(r"\D", "", message.contact.phone_number)
        return {"contact_phone": phone, "contact_username": None}
    text = (message.text or "").strip()
    if _USERNAME.match(text):
        return {"contact_phone": None, "contact_username": text[1:]}
    compact = re.sub(r"[\s()-]", "", text)
    if _PHONE.match(compact):
        phone = compact if compact.startswith("+") else "+" + compact
        return {"contact_phone": phone, "contact_username": None}
    return "ads.bad_contact"


def check_region(text: str) -> str | None:
    if not 2 <= len(text) <= REGION_MAX:
        return "ads.bad_region"
    return None


def check_price(values: dict[str, Any] | None) -> str | None:
    """Why a price answer is refused: unreadable, or zero (the channel sells; "free" is not
    an ad the reference knows, and "0 UZS" reads as a mistake)."""
    if values is None:
        return "ads.bad_price"
    if values["price"] is not None and values["price"] <= 0:
        return "ads.price_zero"
    return None


def price_answer(text: str) -> dict[str, Any] | None:
    if text in all_translations("ads.negotiable"):
        return {"price": None, "currency": None}
    parsed = parse_price(text)
    if parsed is None:
        return None
    return {"price": parsed[0], "currency": parsed[1]}


async def stored_photos(
    bot: Bot, storage: MediaStorage, photos: list[dict[str, Any]]
) -> list[PhotoIn]:
    """Download each photo once, keep it in media storage and hash it for duplicate checks.
    Photos kept from an earlier version are not downloaded again."""

    async def one(photo: dict[str, Any]) -> PhotoIn:
        if photo.get("storage_key"):
            return PhotoIn.model_validate(photo)
        buffer = io.BytesIO()
        await bot.download(str(photo["file_id"]), destination=buffer)
        return await keep_photo(
            storage,
            buffer.getvalue(),
            file_id=str(photo["file_id"]),
            file_unique_id=photo.get("file_unique_id"),
        )

    return list(await asyncio.gather(*(one(p) for p in photos)))


async def submit(
    *,
    bot: Bot,
    storage: MediaStorage,
    session: AsyncSession,
    settings: Settings,
    user: User,
    data: dict[str, Any],
) -> Ad:
    """Send the dialogue's ad for review (photos stored first: a failure stores nothing)."""
    photos = await stored_photos(bot, storage, list(data.get("photos", [])))
    try:
        draft = AdDraft(
            **{k: data.get(k) for k in AdDraft.model_fields if k != "photos"}, photos=photos
        )
    except ValidationError as exc:
        from bozor.classifieds.exceptions import BadDraftError

        raise BadDraftError(fields=", ".join(str(e["loc"][0]) for e in exc.errors())) from None
    return await service.submit(
        session=session, settings=settings, user=user, draft=draft, ad_id=data.get("ad_id")
    )


def menu(t: Translator, settings: Settings) -> ReplyKeyboardMarkup:
    return main_menu(t, settings.features)
