"""The shop in the Mini App: the catalogue, a cart of one product, paying with Stars in place
(createInvoiceLink + openInvoice), and My purchases. The rules are the chat flow's: orders
reserve codes (orders.create), lapse (the expiry job), revive when paid late (orders.revive);
the payment itself arrives as the same pre_checkout_query and successful_payment as an
in-chat invoice, so the bot's handlers deliver the codes."""

from __future__ import annotations

from typing import Any

from aiogram.types import LabeledPrice
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bozor.miniapp.web import (
    SessionDep,
    Viewer,
    ViewerDep,
    answer,
    form,
    render,
    runtime_of,
    view_router,
)
from bozor.settings import Settings
from bozor.shop import codes, translations
from bozor.shop.exceptions import BadQuantityError, SoldOutError, not_pending
from bozor.shop.models import STARS, OrderStatus
from bozor.shop.service import catalogue, orders, payments
from bozor.shop.service.orders import OrderLine
from bozor.shop.settings import ShopSettings

PURCHASES_SHOWN = 30


def _texts(viewer: Viewer) -> dict[str, Any]:
    """The catalogue's texts in the viewer's language (the default language's where the
    admin gave none), for the templates."""
    language = viewer.language
    return {
        "category_name": lambda c: translations.category_name(c, language),
        "category_description": lambda c: translations.category_description(c, language),
        "product_title": lambda p: translations.product_title(p, language),
        "line_name": lambda line: _line_name(line, language),
    }


def _line_name(line: OrderLine, language: str) -> str:
    return " ".join(translations.line_names(line, language))


def create_miniapp_router(settings: Settings) -> APIRouter:
    router = view_router("/shop")

    @router.get("")
    async def shop(
        viewer: ViewerDep, session: SessionDep, category: int | None = None
    ) -> HTMLResponse:
        """The catalogue: categories, and the chosen one's denominations with stock and prices."""
        shown = await catalogue.categories(session=session)
        chosen = next((c for c in shown if c.id == category), shown[0] if shown else None)
        items = await catalogue.products(session=session, category_id=chosen.id) if chosen else []
        levels = {
            item.product.id: catalogue.stock_level(
                item.available, ShopSettings.of(settings).low_stock
            )
            for item in items
        }
        return render(
            viewer,
            "shop/catalogue.html",
            **_texts(viewer),
            path=f"/shop?category={chosen.id}" if chosen else "/shop",
            back="/",
            categories=shown,
            chosen=chosen,
            items=items,
            levels=levels,
            money=catalogue.money,
            main_text=viewer.t("miniapp.shop.my_purchases"),
            main_href="/shop/purchases",
        )

    @router.get("/products/{product_id}")
    async def product(viewer: ViewerDep, session: SessionDep, product_id: int) -> HTMLResponse:
        """One denomination: its price and stock, and a quantity to put in the cart."""
        item = await catalogue.visible_product(session=session, product_id=product_id)
        left = await orders.stock_left(session=session, product_id=product_id)
        return render(
            viewer,
            "shop/product.html",
            **_texts(viewer),
            path=f"/shop/products/{product_id}",
            back=f"/shop?category={item.category_id}",
            product=item,
            left=left,
            most=min(left, ShopSettings.of(settings).max_quantity),
            money=catalogue.money,
            **_main_button(viewer.t("miniapp.shop.to_cart"), "cart", shown=left > 0),
        )

    @router.post("/products/{product_id}/order")
    async def order(
        request: Request, viewer: ViewerDep, session: SessionDep, product_id: int
    ) -> JSONResponse:
        """Put `quantity` codes in the cart: an order that reserves them (the chat's rules)."""
        raw = (await form(request)).get("quantity", "")
        if not (raw.isascii() and raw.isdigit() and len(raw) < 4):
            raise BadQuantityError(max=ShopSettings.of(settings).max_quantity)
        created = await orders.create(
            session=session,
            settings=settings,
            user=viewer.user,
            product_id=product_id,
            quantity=int(raw),
            language=viewer.language,
        )
        await session.commit()
        return answer(go=f"/shop/orders/{created.id}")

    @router.get("/orders/{order_id}")
    async def cart(viewer: ViewerDep, session: SessionDep, order_id: int) -> HTMLResponse:
        """The cart: the order's product, quantity, totals and how long the codes are held."""
        held = await orders.get_owned(session=session, user=viewer.user, order_id=order_id)
        line = await orders.line(session=session, order_id=held.id)
        payable = held.status in (OrderStatus.PENDING, OrderStatus.EXPIRED)
        return render(
            viewer,
            "shop/cart.html",
            **_texts(viewer),
            path=f"/shop/orders/{order_id}",
            back=f"/shop/products/{held.product_id}",
            line=line,
            order=held,
            money=catalogue.money,
            **_main_button(
                viewer.t("miniapp.shop.pay", stars=held.stars_due), "pay", shown=payable
            ),
        )

    @router.post("/orders/{order_id}/pay")
    async def pay(
        request: Request, viewer: ViewerDep, session: SessionDep, order_id: int
    ) -> JSONResponse:
        """A Stars invoice link for the order, opened in place by the app (openInvoice)."""
        held = await orders.get_owned(session=session, user=viewer.user, order_id=order_id)
        if held.status == OrderStatus.EXPIRED and not await orders.revive(
            session=session, settings=settings, order=held
        ):
            raise SoldOutError(
                left=await orders.stock_left(session=session, product_id=held.product_id)
            )
        if held.status != OrderStatus.PENDING:
            raise not_pending(held.status)
        line = await orders.line(session=session, order_id=held.id)
        await session.commit()
        title = _line_name(line, viewer.language)[:32]
        link = await runtime_of(request).bot.create_invoice_link(
            title=title,
            description=viewer.t("shop.invoice_description", quantity=held.quantity, id=held.id)[
                :255
            ],
            payload=payments.invoice_payload(held.id),
            currency=STARS,
            prices=[LabeledPrice(label=title, amount=held.stars_due)],
        )
        return answer(
            invoice_link=link, paid=f"/shop/purchases/{held.id}", closed=f"/shop/orders/{held.id}"
        )

    @router.post("/orders/{order_id}/cancel")
    async def cancel(viewer: ViewerDep, session: SessionDep, order_id: int) -> JSONResponse:
        """Empty the cart: the codes go back in stock (the chat's cancel)."""
        await orders.cancel(session=session, user=viewer.user, order_id=order_id)
        await session.commit()
        return answer(go="/shop")

    @router.get("/purchases")
    async def purchases(viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
        """My purchases, newest first."""
        lines, total = await orders.history(
            session=session, user_id=viewer.user.id, per_page=PURCHASES_SHOWN
        )
        return render(
            viewer,
            "shop/purchases.html",
            **_texts(viewer),
            path="/shop/purchases",
            back="/shop",
            lines=lines,
            total=total,
        )

    @router.get("/purchases/{order_id}")
    async def purchase(viewer: ViewerDep, session: SessionDep, order_id: int) -> HTMLResponse:
        """One purchase; its codes are in the page only once the buyer taps to see them."""
        held = await orders.get_owned(session=session, user=viewer.user, order_id=order_id)
        line = await orders.line(session=session, order_id=held.id)
        return render(
            viewer,
            "shop/purchase.html",
            **_texts(viewer),
            path=f"/shop/purchases/{order_id}",
            back="/shop/purchases",
            line=line,
            order=held,
            delivered=held.status == OrderStatus.DELIVERED,
            # Just paid: the payment reaches the bot a moment after the app hears of it.
            **({"refresh": 2} if held.status == OrderStatus.PENDING else {}),
        )

    @router.post("/purchases/{order_id}/codes")
    async def reveal(viewer: ViewerDep, session: SessionDep, order_id: int) -> HTMLResponse:
        """The codes of a delivered purchase of this buyer."""
        held = await orders.get_owned(session=session, user=viewer.user, order_id=order_id)
        line = await orders.line(session=session, order_id=held.id)
        found = await codes.reveal(session=session, settings=settings, order_id=held.id)
        return render(
            viewer,
            "shop/purchase.html",
            **_texts(viewer),
            path=f"/shop/purchases/{order_id}",
            back="/shop/purchases",
            line=line,
            order=held,
            delivered=held.status == OrderStatus.DELIVERED,
            codes=found,
        )

    return router


def _main_button(text: str, form_id: str, *, shown: bool) -> dict[str, Any]:
    """MainButton submitting the view's form `form_id`, when `shown`."""
    return {"main_text": text, "main_form": form_id} if shown else {}
