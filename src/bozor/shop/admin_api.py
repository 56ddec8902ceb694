"""Admin routes of the shop (`/api/v1/admin/shop/...`) and Portmone's notification callback."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from bozor.api.auth import AdminDep, SessionDep
from bozor.api.deps import RuntimeDep, SettingsDep
from bozor.api.problems import responses
from bozor.db import session_scope
from bozor.payments.portmone import (
    PortmoneClient,
    PortmoneError,
    PortmoneNotificationError,
    parse_notification,
)
from bozor.shop import codes, notify, refunds
from bozor.shop.models import OrderStatus
from bozor.shop.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    FaqCreate,
    FaqRead,
    ImportRead,
    NotificationCreate,
    NotificationRead,
    OrderRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    SalesRead,
)
from bozor.shop.service import card, catalogue, orders, stats, support

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/v1/admin/shop", tags=["admin: shop"], responses=responses(401, 403, 429)
)
callbacks = APIRouter(tags=["payments"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _category(c: object) -> CategoryRead:
    return CategoryRead.model_validate(c, from_attributes=True)


def _actor(caller: object) -> str:
    return f"api:{getattr(caller, 'key_id', '?')}"


@router.get("/categories")
async def list_categories(session: SessionDep, _: AdminDep) -> list[CategoryRead]:
    """Every category, hidden ones included, in menu order."""
    return [_category(c) for c in await catalogue.categories(session=session, include_hidden=True)]


@router.post("/categories", status_code=201, responses=responses(409, 422))
async def create_category(
    body: CategoryCreate, request: Request, session: SessionDep, caller: AdminDep
) -> CategoryRead:
    """Create a category (a service whose cards are sold), its name and description plain or
    per language."""
    category = await catalogue.create_category(
        session=session,
        name=body.name,
        description=body.description,
        actor=_actor(caller),
        default_language=request.app.state.runtime.settings.default_language,
    )
    await session.commit()
    return _category(category)


@router.patch("/categories/{category_id}", responses=responses(404, 409, 422))
async def update_category(
    category_id: Id, body: CategoryUpdate, request: Request, session: SessionDep, caller: AdminDep
) -> CategoryRead:
    """Rename, describe, translate, hide/show or move a category."""
    category = await catalogue.update_category(
        session=session,
        category_id=category_id,
        actor=_actor(caller),
        default_language=request.app.state.runtime.settings.default_language,
        **body.model_dump(),
    )
    await session.commit()
    return _category(category)


def _product(row: catalogue.ProductStock) -> ProductRead:
    p = row.product
    return ProductRead(
        id=p.id,
        category_id=p.category_id,
        title=p.title,
        description=p.description,
        translations=p.translations or {},
        price_stars=p.price_stars,
        card_price=p.card_price,
        card_currency=p.card_currency,
        card_payable=p.card_payable,
        is_hidden=p.is_hidden,
        available=row.available,
        reserved=row.reserved,
        sold=row.sold,
    )


@router.get("/products")
async def list_products(
    session: SessionDep,
    _: AdminDep,
    category_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[ProductRead]:
    """Products with prices and stock levels (available, held by pending orders, sold)."""
    rows = await catalogue.products(session=session, category_id=category_id, include_hidden=True)
    return [_product(row) for row in rows]


async def _product_read(session: SessionDep, product_id: int) -> ProductRead:
    rows = await catalogue.products(session=session, include_hidden=True)
    return _product(next(row for row in rows if row.product.id == product_id))


@router.post("/products", status_code=201, responses=responses(404, 409, 422))
async def create_product(
    body: ProductCreate, request: Request, session: SessionDep, caller: AdminDep
) -> ProductRead:
    """Create a denomination of a category, its title and description plain or per language."""
    product = await catalogue.create_product(
        session=session,
        actor=_actor(caller),
        default_language=request.app.state.runtime.settings.default_language,
        **body.model_dump(),
    )
    await session.commit()
    return await _product_read(session, product.id)


@router.patch("/products/{product_id}", responses=responses(404, 409, 422))
async def update_product(
    product_id: Id, body: ProductUpdate, request: Request, session: SessionDep, caller: AdminDep
) -> ProductRead:
    """Change a product's title, description, translations, prices, card payability,
    visibility or position."""
    await catalogue.update_product(
        session=session,
        product_id=product_id,
        actor=_actor(caller),
        default_language=request.app.state.runtime.settings.default_language,
        **body.model_dump(),
    )
    await session.commit()
    return await _product_read(session, product_id)


@router.post(
    "/products/{product_id}/codes",
    responses=responses(404, 422),
    openapi_extra={
        "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def import_codes(
    product_id: Id, request: Request, runtime: RuntimeDep, session: SessionDep, caller: AdminDep
) -> ImportRead:
    """Import codes from a TXT (one per line) or CSV (a `code` column) body. Codes seen before
    (in the body or already stored) are rejected and reported by line; the others are added."""
    text = codes.decode_upload(await request.body())
    report = await codes.import_codes(
        session=session,
        settings=runtime.settings,
        product_id=product_id,
        lines=codes.parse(text),
        actor=_actor(caller),
    )
    await session.commit()
    return ImportRead(
        product_id=report.product_id,
        lines=report.lines,
        added=report.added,
        duplicates_in_file=report.duplicates_in_file,
        already_known=report.already_known,
        invalid=report.invalid,
    )


def _order(line: orders.OrderLine) -> OrderRead:
    o = line.order
    return OrderRead(
        id=o.id,
        user_id=o.user_id,
        product_id=o.product_id,
        product=line.product_title,
        category=line.category_name,
        quantity=o.quantity,
        stars_total=o.stars_total,
        bonus_points=o.bonus_points,
        card_total=o.card_total,
        card_currency=o.card_currency,
        status=str(o.status),
        provider=o.provider,
        created_at=o.created_at.isoformat(),
        paid_at=o.paid_at.isoformat() if o.paid_at else None,
    )


@router.get("/orders")
async def list_orders(
    session: SessionDep,
    _: AdminDep,
    status: Annotated[OrderStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OrderRead]:
    """Orders, newest first (codes are never shown here)."""
    found = await orders.listing(session=session, status=status, limit=limit, offset=offset)
    return [_order(line) for line in found]


@router.post("/orders/{order_id}/refund", responses=responses(404, 409))
async def refund_order(
    order_id: Id, request: Request, runtime: RuntimeDep, session: SessionDep, caller: AdminDep
) -> OrderRead:
    """Refund a delivered order: Stars at once through Telegram (retried by the job if it
    fails), card payments by the reconciliation job through Portmone; the bonus part returns
    to the buyer's balance."""
    await refunds.refund_order(
        session, runtime.bot, settings=runtime.settings, order_id=order_id, actor=_actor(caller)
    )
    await session.commit()
    return _order(await orders.line(session=session, order_id=order_id))


@router.get("/stats")
async def get_stats(
    session: SessionDep,
    _: AdminDep,
    period: Annotated[str, Query(pattern=r"^(today|7d|30d)$")] = "7d",
) -> SalesRead:
    """Sales of today, the last 7 or 30 days: revenue per currency, orders, top products."""
    figures = await stats.sales(session=session, period=period)
    return SalesRead(
        period=figures.period,
        since=figures.since.isoformat(),
        orders=figures.orders,
        codes=figures.codes,
        revenue=figures.revenue,
        bonus_points=figures.bonus_points,
        refunded_orders=figures.refunded_orders,
        top=[
            {
                "product_id": t.product_id,
                "title": t.title,
                "category": t.category,
                "codes": t.codes,
                "orders": t.orders,
            }
            for t in figures.top
        ],
    )


@router.get(
    "/stats/chart.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG bar chart."}},
)
async def get_chart(
    session: SessionDep,
    _: AdminDep,
    period: Annotated[str, Query(pattern=r"^(today|7d|30d)$")] = "30d",
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "XTR",
) -> Response:
    """Daily revenue in one currency over the period, as a PNG chart."""
    figures = await stats.sales(session=session, period=period)
    return Response(stats.chart_png(figures, currency=currency), media_type="image/png")


@router.get("/faq")
async def list_faq(session: SessionDep, _: AdminDep) -> list[FaqRead]:
    """FAQ entries in their order."""
    return [
        FaqRead.model_validate(e, from_attributes=True) for e in await support.faq(session=session)
    ]


@router.post("/faq", status_code=201, responses=responses(422))
async def create_faq(body: FaqCreate, session: SessionDep, _: AdminDep) -> FaqRead:
    """Add an FAQ entry."""
    entry = await support.add_faq(session=session, **body.model_dump())
    await session.commit()
    return FaqRead.model_validate(entry, from_attributes=True)


@router.delete("/faq/{faq_id}", status_code=204, responses=responses(404))
async def delete_faq(faq_id: Id, session: SessionDep, _: AdminDep) -> Response:
    """Remove an FAQ entry."""
    await support.delete_faq(session=session, faq_id=faq_id)
    await session.commit()
    return Response(status_code=204)


@router.post("/notifications", status_code=202, responses=responses(422))
async def send_notification(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _: AdminDep,
    body: Annotated[NotificationCreate, Body()],
) -> NotificationRead:
    """A message to every user of the bot (or its buyers), sent by the broadcast engine under
    Telegram's limits; its progress is at /api/v1/admin/broadcasts."""
    count = await notify.broadcast(
        session=session,
        settings=settings,
        text=body.text,
        segment=body.segment,
    )
    await session.commit()
    return NotificationRead(queued=count)


@callbacks.post(card.CALLBACK_PATH, include_in_schema=False)
async def portmone_callback(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Portmone's notification. Its body is only a hint: the payment's state is asked of
    Portmone (`result`) before anything is delivered, and applied once."""
    settings = runtime.settings
    config = settings.portmone()
    if config is None:
        return JSONResponse({"error": "card payments are not configured"}, status_code=404)
    try:
        notification = parse_notification(
            await request.body(), request.headers.get("content-type", "")
        )
    except PortmoneNotificationError:
        return JSONResponse({"error": "unreadable notification"}, status_code=400)
    try:
        async with (
            PortmoneClient(config) as client,
            session_scope(runtime.session_factory) as session,
        ):
            applied = await card.confirm(
                session=session,
                settings=settings,
                client=client,
                shop_order_number=notification.shop_order_number,
            )
    except PortmoneError as exc:
        # Portmone may send the notification again; the reconciliation job asks anyway.
        log.warning("Portmone could not confirm a notification: %s", exc.code)
        return JSONResponse({"error": "try again"}, status_code=503)
    return JSONResponse({"result": str(applied.outcome)})
