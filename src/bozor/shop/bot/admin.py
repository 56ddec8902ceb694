"""The shop's admin menu in Telegram: catalogue, code imports, stock, orders and refunds,
sales with a chart, FAQ, answers to questions and notifications to users."""

from __future__ import annotations

import io
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.errors import InvalidInputError
from bozor.i18n import Translator
from bozor.settings import Settings
from bozor.shop import codes, notify, translate_bot
from bozor.shop.models import OrderStatus
from bozor.shop.service import catalogue, orders, stats, support
from bozor.shop.settings import ShopSettings


class Importing(StatesGroup):
    file = State()


class Replying(StatesGroup):
    text = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and settings.is_admin(event.from_user.id)


def _actor(message: Message) -> str:
    return f"tg:{message.chat.id}"


def _int(value: str) -> int:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInputError("shop.admin_usage")
    return int(value)


def _money(text: str) -> tuple[int, str]:
    """ "250.00 UAH" or "250" → (25000, "UAH")."""
    parts = text.split()
    currency = parts[1].upper() if len(parts) > 1 else "UAH"
    return catalogue.parse_money(parts[0]), currency


async def admin_help(message: Message, t: Translator) -> SendMessage:
    return message.answer(t("shop.admin_help"))


async def new_category(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    if not command.args:
        raise InvalidInputError("shop.admin_usage")
    name, _, description = command.args.partition("\n")
    category = await catalogue.create_category(
        session=session, name=name, description=description, actor=_actor(message)
    )
    return message.answer(t("shop.category_created", id=category.id, name=category.name))


async def new_product(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    # /new_product <category id> | <title> | <price in Stars> [| <card price> [currency]]
    parts = [part.strip() for part in (command.args or "").split("|")]
    if len(parts) not in (3, 4):
        raise InvalidInputError("shop.admin_usage")
    card_price, currency = _money(parts[3]) if len(parts) == 4 else (None, "UAH")
    product = await catalogue.create_product(
        session=session,
        category_id=_int(parts[0]),
        title=parts[1],
        price_stars=_int(parts[2]),
        card_price=card_price,
        card_currency=currency,
        card_payable=card_price is not None,
        actor=_actor(message),
    )
    return message.answer(
        t("shop.product_created", id=product.id, title=product.title, stars=product.price_stars)
    )


async def set_price(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    # /price <product id> <Stars> [<card price> [currency]]
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) < 2:
        raise InvalidInputError("shop.admin_usage")
    card_price, currency = _money(parts[2]) if len(parts) == 3 else (None, None)
    product = await catalogue.update_product(
        session=session,
        product_id=_int(parts[0]),
        price_stars=_int(parts[1]),
        card_price=card_price,
        card_currency=currency,
        actor=_actor(message),
    )
    return message.answer(
        t(
            "shop.price_set",
            id=product.id,
            stars=product.price_stars,
            card=catalogue.money(product.card_price),
            currency=product.card_currency,
        )
    )


async def toggle(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    name = command.command
    target = _int(command.args or "")
    if name in ("hide_product", "show_product"):
        await catalogue.update_product(
            session=session,
            product_id=target,
            is_hidden=name == "hide_product",
            actor=_actor(message),
        )
    elif name in ("hide_category", "show_category"):
        await catalogue.update_category(
            session=session,
            category_id=target,
            is_hidden=name == "hide_category",
            actor=_actor(message),
        )
    else:  # card_on / card_off
        await catalogue.update_product(
            session=session,
            product_id=target,
            card_payable=name == "card_on",
            actor=_actor(message),
        )
    return message.answer(t("shop.saved"))


async def show_catalogue(message: Message, session: AsyncSession, t: Translator) -> SendMessage:
    lines = [t("shop.catalogue_title")]
    rows = await catalogue.products(session=session, include_hidden=True)
    for category in await catalogue.categories(session=session, include_hidden=True):
        hidden = " 🙈" if category.is_hidden else ""
        lines.append(f"\n#{category.id} {category.name}{hidden}")
        for row in (r for r in rows if r.product.category_id == category.id):
            product = row.product
            card = (
                f", 💳 {catalogue.money(product.card_price)} {product.card_currency}"
                if product.card_payable
                else ""
            )
            lines.append(
                t(
                    "shop.catalogue_line",
                    id=product.id,
                    title=product.title,
                    stars=product.price_stars,
                    card=card,
                    available=row.available,
                    reserved=row.reserved,
                    sold=row.sold,
                )
                + (" 🙈" if product.is_hidden else "")
            )
    return message.answer("\n".join(lines)[:4000])


async def import_start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
) -> SendMessage:
    product = await catalogue.get_product(session=session, product_id=_int(command.args or ""))
    await state.set_state(Importing.file)
    await state.update_data(product_id=product.id)
    return message.answer(t("shop.send_codes", title=product.title))


def report_text(t: Translator, report: codes.ImportReport) -> str:
    def lines(numbers: list[int]) -> str:
        shown = ", ".join(str(n) for n in numbers[:30])
        return shown + (" …" if len(numbers) > 30 else "") if numbers else "—"

    return t(
        "shop.import_report",
        lines=report.lines,
        added=report.added,
        in_file=lines(report.duplicates_in_file),
        known=lines(report.already_known),
        invalid=lines(report.invalid),
    )


async def import_file(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> SendMessage:
    if message.document is not None:
        if (message.document.file_size or 0) > codes.MAX_IMPORT_BYTES:
            raise InvalidInputError("shop.bad_import", reason="too_big")
        buffer = io.BytesIO()
        await bot.download(message.document, destination=buffer)
        text = codes.decode_upload(buffer.getvalue())
    else:
        text = message.text or ""
    product_id = int((await state.get_data()).get("product_id") or 0)
    report = await codes.import_codes(
        session=session,
        settings=settings,
        product_id=product_id,
        lines=codes.parse(text),
        actor=_actor(message),
    )
    await state.clear()
    return message.answer(report_text(t, report))


async def show_stock(
    message: Message, session: AsyncSession, t: Translator, settings: Settings
) -> SendMessage:
    lines = [t("shop.stock_title", low=ShopSettings.of(settings).low_stock)]
    for row in await catalogue.products(session=session, include_hidden=True):
        icon = catalogue.STOCK_ICONS[
            catalogue.stock_level(row.available, ShopSettings.of(settings).low_stock)
        ]
        lines.append(
            f"{icon} #{row.product.id} {row.product.title}: {row.available} "
            f"(+{row.reserved} {t('shop.reserved')})"
        )
    return message.answer("\n".join(lines)[:4000])


async def show_orders(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    status = None
    if command.args:
        try:
            status = OrderStatus(command.args.strip())
        except ValueError:
            raise InvalidInputError("shop.admin_usage") from None
    found = await orders.listing(session=session, status=status, limit=20)
    if not found:
        return message.answer(t("shop.no_orders"))
    lines = [t("shop.orders_title")]
    lines += [
        t(
            "shop.order_line",
            id=line.order.id,
            date=localtime.show(line.order.created_at),
            product=f"{line.category_name} {line.product_title}",
            quantity=line.order.quantity,
            stars=line.order.stars_total,
            status=t(f"shop.status.{line.order.status}"),
            user=line.order.user_id,
        )
        for line in found
    ]
    return message.answer("\n".join(lines)[:4000])


async def refund(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    from bozor.shop import refunds

    order = await refunds.refund_order(
        session, bot, settings=settings, order_id=_int(command.args or ""), actor=_actor(message)
    )
    return message.answer(t("shop.refund_started", id=order.id))


async def sales(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> TelegramMethod[Any]:
    period = (command.args or "7d").strip()
    if period not in stats.PERIODS:
        raise InvalidInputError("shop.admin_usage")
    figures = await stats.sales(session=session, period=period)
    revenue = (
        ", ".join(
            f"{amount} ⭐" if currency == "XTR" else f"{catalogue.money(amount)} {currency}"
            for currency, amount in sorted(figures.revenue.items())
        )
        or "0"
    )
    top = (
        "\n".join(
            f"{i}. {p.category} {p.title} — {p.codes}" for i, p in enumerate(figures.top, start=1)
        )
        or "—"
    )
    caption = t(
        "shop.sales",
        period=t(f"shop.period.{period}"),
        orders=figures.orders,
        codes=figures.codes,
        revenue=revenue,
        bonus=figures.bonus_points,
        refunded=figures.refunded_orders,
        top=top,
    )
    png = stats.chart_png(figures)
    return message.answer_photo(
        BufferedInputFile(png, filename=f"sales-{period}.png"), caption=caption[:1024]
    )


async def faq_add(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    question, _, answer = (command.args or "").partition("\n")
    entry = await support.add_faq(session=session, question=question, answer=answer)
    return message.answer(t("shop.faq_added", id=entry.id))


async def faq_del(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    await support.delete_faq(session=session, faq_id=_int(command.args or ""))
    return message.answer(t("shop.saved"))


async def reply_command(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    ticket, _, text = (command.args or "").partition(" ")
    await support.reply(
        session=session, ticket_id=_int(ticket), admin_telegram_id=message.chat.id, text=text
    )
    return message.answer(t("shop.reply_sent"))


async def reply_button(
    query: CallbackQuery, t: Translator, state: FSMContext
) -> TelegramMethod[Any]:
    ticket_id = int((query.data or "").removeprefix("sha:r:") or 0)
    await state.set_state(Replying.text)
    await state.update_data(ticket_id=ticket_id)
    await query.answer()
    assert isinstance(query.message, Message)
    return query.message.answer(t("shop.reply_prompt", id=ticket_id))


async def reply_text(
    message: Message, session: AsyncSession, t: Translator, state: FSMContext
) -> SendMessage:
    ticket_id = int((await state.get_data()).get("ticket_id") or 0)
    await support.reply(
        session=session,
        ticket_id=ticket_id,
        admin_telegram_id=message.chat.id,
        text=message.text or "",
    )
    await state.clear()
    return message.answer(t("shop.reply_sent"))


async def notify_all(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    text = (command.args or "").strip()
    if not 1 <= len(text) <= 4000:
        raise InvalidInputError("shop.admin_usage")
    count = await notify.broadcast(session=session, settings=settings, text=text)
    return message.answer(t("shop.notify_queued", count=count))


def create_router(settings: Settings) -> Router:
    router = Router(name="shop-admin")
    private = F.chat.type == "private"
    admin = IsAdmin()
    router.message.filter(admin, private)
    router.callback_query.filter(admin)
    router.message.register(admin_help, Command("shop_admin"))
    router.message.register(new_category, Command("new_category"))
    router.message.register(new_product, Command("new_product"))
    router.message.register(translate_bot.translate, Command("translate"))
    router.message.register(set_price, Command("price"))
    router.message.register(
        toggle,
        Command(
            "hide_product",
            "show_product",
            "hide_category",
            "show_category",
            "card_on",
            "card_off",
        ),
    )
    router.message.register(show_catalogue, Command("catalogue"))
    router.message.register(import_start, Command("import_codes"))
    router.message.register(show_stock, Command("stock"))
    router.message.register(show_orders, Command("orders"))
    router.message.register(refund, Command("refund"))
    router.message.register(sales, Command("sales"))
    router.message.register(faq_add, Command("faq_add"))
    router.message.register(faq_del, Command("faq_del"))
    router.message.register(reply_command, Command("reply"))
    router.message.register(notify_all, Command("notify_all"))
    router.callback_query.register(reply_button, F.data.startswith("sha:r:"))
    text = F.text & ~F.text.startswith("/")
    router.message.register(import_file, StateFilter(Importing.file), text | F.document)
    router.message.register(reply_text, StateFilter(Replying.text), text)
    return router
