"""The shop in Telegram for buyers: catalogue, ordering, paying with Stars (or by card through
Portmone, or with the bonus balance), purchase history, bonuses and support."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.keyboards import main_menu
from bozor.errors import DomainError
from bozor.i18n import Translator, all_translations
from bozor.ledger import service as ledger
from bozor.miniapp.buttons import open_app_button
from bozor.referrals import rewards
from bozor.settings import Settings
from bozor.shop import codes, notify, refunds, translations
from bozor.shop.bot import admin
from bozor.shop.bot.renderers import delivered_text
from bozor.shop.bot.texts_and_keyboards import (
    PER_PAGE,
    history_view,
    order_summary,
    product_label,
    summary_keyboard,
)
from bozor.shop.models import STARS, Payment
from bozor.shop.service import card, catalogue, orders, payments, support
from bozor.shop.settings import ShopSettings
from bozor.telegram_limits import INVOICE_DESCRIPTION, INVOICE_TITLE, cut, fit_button, fit_param
from bozor.users.models import User

log = logging.getLogger(__name__)


QUANTITIES = (1, 2, 3, 5, 10)


class Buying(StatesGroup):
    quantity = State()


class Asking(StatesGroup):
    question = State()


def _id(data: str | None, prefix: str) -> int:
    value = (data or "").removeprefix(prefix).split(":")[0]
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else 0


# ---------------------------------------------------------------- catalogue


async def _categories_view(
    session: AsyncSession, t: Translator, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    found = await catalogue.categories(session=session)
    if not found:
        return t("shop.empty"), None
    builder = InlineKeyboardBuilder()
    for category in found:
        name = translations.category_name(category, t.language)
        builder.button(text=fit_button(name), callback_data=f"sh:c:{category.id}")
    builder.adjust(2)
    if (app := open_app_button(settings, t, "shop")) is not None:
        builder.row(app)
    return t("shop.choose_category"), builder.as_markup()


async def show_categories(
    message: Message, session: AsyncSession, t: Translator, state: FSMContext, settings: Settings
) -> SendMessage:
    await state.clear()
    text, markup = await _categories_view(session, t, settings)
    return message.answer(text, reply_markup=markup)


async def back_to_categories(
    query: CallbackQuery, session: AsyncSession, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    text, markup = await _categories_view(session, t, settings)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(text, reply_markup=markup)


async def show_products(
    query: CallbackQuery, session: AsyncSession, t: Translator
) -> TelegramMethod[Any]:
    category_id = _id(query.data, "sh:c:")
    category = await catalogue.get_category(session=session, category_id=category_id)
    if category.is_hidden:
        raise DomainError("shop.category_not_found")
    builder = InlineKeyboardBuilder()
    for row in await catalogue.products(session=session, category_id=category_id):
        title = translations.product_title(row.product, t.language)
        label = product_label(t, title, row.product.price_stars, row.available)
        builder.button(text=label, callback_data=f"sh:p:{row.product.id}")
    builder.button(text=t("shop.back"), callback_data="sh:cats")
    builder.adjust(1)
    text = t("shop.choose_product", category=translations.category_name(category, t.language))
    if description := translations.category_description(category, t.language):
        text = f"{text}\n\n{description}"
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(text, reply_markup=builder.as_markup())


async def ask_quantity(
    query: CallbackQuery,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> TelegramMethod[Any]:
    product = await catalogue.visible_product(session=session, product_id=_id(query.data, "sh:p:"))
    left = await codes.stock(session=session, product_id=product.id)
    assert isinstance(query.message, Message)
    if left == 0:
        return query.answer(t("shop.sold_out", left=0), show_alert=True)
    await query.answer()
    most = min(left, ShopSettings.of(settings).max_quantity)
    builder = InlineKeyboardBuilder()
    for quantity in QUANTITIES:
        if quantity <= most:
            builder.button(text=str(quantity), callback_data=f"sh:q:{product.id}:{quantity}")
    builder.button(text=t("shop.back"), callback_data=f"sh:c:{product.category_id}")
    builder.adjust(5, 1)
    await state.set_state(Buying.quantity)
    await state.update_data(product_id=product.id)
    text = t(
        "shop.ask_quantity",
        title=translations.product_title(product, t.language),
        stars=product.price_stars,
        count=left,
        max=most,
    )
    if description := translations.product_description(product, t.language):
        text = f"{text}\n\n{description}"
    if product.card_payable and product.card_price is not None:
        text += "\n" + t(
            "shop.card_price",
            amount=catalogue.money(product.card_price),
            currency=product.card_currency,
        )
    return query.message.edit_text(text, reply_markup=builder.as_markup())


async def _place_order(
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
    product_id: int,
    quantity: int,
) -> tuple[str, InlineKeyboardMarkup]:
    placed = await orders.place(
        session=session,
        settings=settings,
        user=user,
        product_id=product_id,
        quantity=quantity,
        language=t.language,
    )
    return order_summary(t, placed.line, settings), summary_keyboard(
        t, placed.line.order, settings, placed.balance
    )


async def quantity_button(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> TelegramMethod[Any]:
    parts = (query.data or "").split(":")
    product_id, quantity = int(parts[2]), int(parts[3])
    await state.clear()
    text, markup = await _place_order(session, user, t, settings, product_id, quantity)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(text, reply_markup=markup)


async def quantity_typed(
    message: Message,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> SendMessage:
    text = (message.text or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 4):
        return message.answer(t("shop.bad_quantity", max=ShopSettings.of(settings).max_quantity))
    product_id = int((await state.get_data()).get("product_id") or 0)
    await state.clear()
    summary, markup = await _place_order(session, user, t, settings, product_id, int(text))
    return message.answer(summary, reply_markup=markup)


# ----------------------------------------------------------------- paying


async def pay_stars(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    payable = await orders.to_pay(
        session=session, settings=settings, user=user, order_id=_id(query.data, "sh:pay:")
    )
    if payable.line is None:
        return query.answer(t("shop.sold_out", left=payable.left), show_alert=True)
    line, order = payable.line, payable.line.order
    await query.answer()
    assert isinstance(query.message, Message)
    category, product = translations.line_names(line, t.language)
    title = cut(f"{category} {product}", INVOICE_TITLE)
    return query.message.answer_invoice(
        title=title,
        description=_invoice_description(t, line),
        payload=payments.invoice_payload(order.id, query.message.message_id),
        currency=STARS,
        prices=[LabeledPrice(label=title, amount=order.stars_due)],
    )


def _invoice_description(t: Translator, line: orders.OrderLine) -> str:
    """What is bought (the product's description in the buyer's language, shortened if need
    be) and the order's sentence, within Telegram's 255 characters."""
    sentence = t("shop.invoice_description", quantity=line.order.quantity, id=line.order.id)
    about = translations.text(
        line.product_translations, "description", t.language, line.product_description
    )
    if not about:
        return cut(sentence, INVOICE_DESCRIPTION)
    return fit_param(lambda short: f"{short}\n{sentence}", about, INVOICE_DESCRIPTION)


async def pre_checkout(
    query: PreCheckoutQuery, session: AsyncSession, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    try:
        await payments.check_pre_checkout(
            session=session,
            settings=settings,
            payload=query.invoice_payload,
            currency=query.currency,
            total_amount=query.total_amount,
            telegram_id=query.from_user.id,
        )
    except DomainError as exc:
        return query.answer(ok=False, error_message=t(exc.code, **exc.params))
    return query.answer(ok=True)


async def successful_payment(
    message: Message, bot: Bot, session: AsyncSession, t: Translator, settings: Settings
) -> SendMessage | None:
    paid = message.successful_payment
    assert paid is not None and message.from_user is not None
    applied = await payments.apply_stars(
        session=session,
        settings=settings,
        payload=paid.invoice_payload,
        charge_id=paid.telegram_payment_charge_id,
        currency=paid.currency,
        total_amount=paid.total_amount,
        telegram_id=message.from_user.id,
    )
    if applied.outcome == payments.Outcome.DELIVERED:
        summary = payments.summary_message_of(paid.invoice_payload)
        if summary is not None and applied.order is not None:
            await notify.paid_summary(
                session=session,
                chat_id=message.chat.id,
                message_id=summary,
                order_id=applied.order.id,
            )
        return message.answer(t("shop.paid"))
    if applied.outcome == payments.Outcome.REFUND and applied.payment is not None:
        await session.commit()  # the refund is owed whatever happens next
        await refunds.refund_stars_now(session, bot, applied.payment)
        return message.answer(t("shop.payment_refunded_now"))
    return None


async def use_bonus(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    checkout = await orders.use_bonus(
        session=session, user=user, order_id=_id(query.data, "sh:bonus:")
    )
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(
        order_summary(t, checkout.line, settings),
        reply_markup=summary_keyboard(t, checkout.line.order, settings, checkout.balance),
    )


async def pay_bonus(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator
) -> TelegramMethod[Any]:
    await orders.pay_with_bonus(
        session=session, user=user, order_id=_id(query.data, "sh:bonuspay:")
    )
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(t("shop.paid"))


async def pay_card(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
    bot: Bot,
) -> TelegramMethod[Any]:
    order_id = _id(query.data, "sh:card:")
    line = await orders.line(session=session, order_id=order_id)
    me = await bot.me()
    payment: Payment = await card.start(
        session=session,
        settings=settings,
        user=user,
        order_id=order_id,
        description=t(
            "shop.card_description",
            id=order_id,
            product=" ".join(translations.line_names(line, t.language)),
            quantity=line.order.quantity,
        ),
        return_url=f"https://t.me/{me.username or ''}",
    )
    await query.answer()
    assert isinstance(query.message, Message) and payment.payment_url is not None
    # once paid, this summary loses its Pay and Cancel buttons (card.confirm edits it)
    payment.detail = {**payment.detail, "summary_message_id": query.message.message_id}
    builder = InlineKeyboardBuilder()
    builder.button(text=t("shop.open_card_page"), url=payment.payment_url)
    return query.message.answer(
        t(
            "shop.card_link",
            amount=catalogue.money(payment.amount),
            currency=payment.currency,
            id=order_id,
        ),
        reply_markup=builder.as_markup(),
    )


async def cancel_order(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator
) -> TelegramMethod[Any]:
    order = await orders.cancel(session=session, user=user, order_id=_id(query.data, "sh:x:"))
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(t("shop.cancelled", id=order.id))


# ---------------------------------------------------------------- history


async def show_history(
    message: Message, session: AsyncSession, user: User, t: Translator
) -> SendMessage:
    lines, total = await orders.history(session=session, user_id=user.id, page=0, per_page=PER_PAGE)
    text, markup = history_view(t, lines, total, 0)
    return message.answer(text, reply_markup=markup)


async def history_page(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator
) -> TelegramMethod[Any]:
    page = _id(query.data, "sh:h:")
    lines, total = await orders.history(
        session=session, user_id=user.id, page=page, per_page=PER_PAGE
    )
    text, markup = history_view(t, lines, total, page)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(text, reply_markup=markup)


async def show_codes(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    line, found = await orders.delivered(
        session=session, settings=settings, user=user, order_id=_id(query.data, "sh:o:")
    )
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.answer(delivered_text(t, line, found), parse_mode="HTML")


# ---------------------------------------------------------------- bonuses


async def show_bonuses(
    message: Message, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> SendMessage:
    balance = await ledger.balance(session=session, user_id=user.id)
    totals = await rewards.totals(session=session, user_id=user.id)
    unclaimed = totals.earned - totals.claimed
    text = t("shop.bonuses", balance=balance, earned=totals.earned, unclaimed=unclaimed)
    builder = InlineKeyboardBuilder()
    if unclaimed > 0:
        builder.button(text=t("shop.claim_rewards", points=unclaimed), callback_data="sh:claim")
    if "referrals" in settings.features:
        text += "\n\n" + t("shop.bonuses_hint")
    return message.answer(text, reply_markup=builder.as_markup() if unclaimed else None)


async def claim_rewards(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator, settings: Settings
) -> TelegramMethod[Any]:
    claimed = sum(
        reward.amount
        for reward in await rewards.claim_all(session=session, user=user, settings=settings)
    )
    balance = await ledger.balance(session=session, user_id=user.id)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.edit_text(t("shop.claimed", points=claimed, balance=balance))


# ---------------------------------------------------------------- support


async def show_support(
    message: Message, session: AsyncSession, t: Translator, state: FSMContext
) -> SendMessage:
    await state.clear()
    builder = InlineKeyboardBuilder()
    for entry in await support.faq(session=session):
        builder.button(text=fit_button(entry.question), callback_data=f"sh:faq:{entry.id}")
    builder.button(text=t("shop.ask_button"), callback_data="sh:ask")
    builder.adjust(1)
    return message.answer(t("shop.support"), reply_markup=builder.as_markup())


async def show_faq(query: CallbackQuery, session: AsyncSession) -> TelegramMethod[Any]:
    entry = await support.get_faq(session=session, faq_id=_id(query.data, "sh:faq:"))
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.answer(f"❓ {entry.question}\n\n{entry.answer}")


async def ask_button(query: CallbackQuery, t: Translator, state: FSMContext) -> TelegramMethod[Any]:
    await state.set_state(Asking.question)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.answer(t("shop.ask_prompt"))


async def paysupport(message: Message, t: Translator, state: FSMContext) -> SendMessage:
    await state.set_state(Asking.question)
    return message.answer(t("shop.paysupport"))


async def terms(message: Message, t: Translator, settings: Settings) -> SendMessage:
    text = t("shop.terms", minutes=round(ShopSettings.of(settings).order_minutes))
    if ShopSettings.of(settings).terms_url:
        text += f"\n\n{ShopSettings.of(settings).terms_url}"
    return message.answer(text)


async def question(
    message: Message,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> SendMessage:
    await support.ask(session=session, settings=settings, user=user, text=message.text or "")
    await state.clear()
    return message.answer(t("shop.asked"), reply_markup=main_menu(t, settings.features))


async def cancel_flow(
    message: Message, t: Translator, state: FSMContext, settings: Settings
) -> SendMessage:
    await state.clear()
    return message.answer(t("shop.flow_cancelled"), reply_markup=main_menu(t, settings.features))


def create_router(settings: Settings) -> Router:
    router = Router(name="shop")
    private = F.chat.type == "private"
    router.message.register(cancel_flow, Command("cancel"), StateFilter(Buying, Asking), private)
    router.message.register(show_categories, Command("buy"), private)
    router.message.register(show_categories, F.text.in_(all_translations("menu.buy")), private)
    router.message.register(show_history, Command("purchases"), private)
    router.message.register(show_history, F.text.in_(all_translations("menu.purchases")), private)
    router.message.register(show_bonuses, Command("bonuses"), private)
    router.message.register(show_bonuses, F.text.in_(all_translations("menu.bonuses")), private)
    router.message.register(show_support, Command("support"), private)
    router.message.register(show_support, F.text.in_(all_translations("menu.support")), private)
    router.message.register(paysupport, Command("paysupport"), private)
    router.message.register(terms, Command("terms"), private)
    router.message.register(successful_payment, F.successful_payment)
    router.pre_checkout_query.register(pre_checkout)
    router.callback_query.register(back_to_categories, F.data == "sh:cats")
    router.callback_query.register(show_products, F.data.startswith("sh:c:"))
    router.callback_query.register(ask_quantity, F.data.startswith("sh:p:"))
    router.callback_query.register(quantity_button, F.data.startswith("sh:q:"))
    router.callback_query.register(pay_stars, F.data.startswith("sh:pay:"))
    router.callback_query.register(use_bonus, F.data.startswith("sh:bonus:"))
    router.callback_query.register(pay_bonus, F.data.startswith("sh:bonuspay:"))
    router.callback_query.register(pay_card, F.data.startswith("sh:card:"))
    router.callback_query.register(cancel_order, F.data.startswith("sh:x:"))
    router.callback_query.register(history_page, F.data.startswith("sh:h:"))
    router.callback_query.register(show_codes, F.data.startswith("sh:o:"))
    router.callback_query.register(claim_rewards, F.data == "sh:claim")
    router.callback_query.register(show_faq, F.data.startswith("sh:faq:"))
    router.callback_query.register(ask_button, F.data == "sh:ask")
    router.include_router(admin.create_router(settings))
    text = F.text & ~F.text.startswith("/")
    router.message.register(quantity_typed, StateFilter(Buying.quantity), text, private)
    router.message.register(question, StateFilter(Asking.question), text, private)
    return router
