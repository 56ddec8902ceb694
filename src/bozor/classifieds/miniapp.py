"""The classifieds pages of the Mini App: the searchable list of published ads, an ad's page
with "Contact the seller", My ads, and saved searches.

Views answer HTML fragments (see bozor.miniapp); the filters travel in the view's query
string, so a search is a link (the list, its next page, a saved search opened again). The
rules are the services': search.search, saved_searches, contact.open_ad.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from bozor.classifieds import categories, contact, saved_searches, search
from bozor.classifieds import service as ads_service
from bozor.classifieds.bot.texts_and_keyboards import status_text
from bozor.classifieds.categories import Categories
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.photos import CONTENT_TYPE
from bozor.classifieds.search import AdFilters
from bozor.classifieds.search_bot import CONTACT_START
from bozor.classifieds.search_models import SavedSearch
from bozor.classifieds.search_renderers import describe
from bozor.classifieds.service import latest_url
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.classifieds.texts import contact as contact_text
from bozor.classifieds.texts import format_price, id_tag
from bozor.errors import DomainError, InvalidInputError, NotFoundError
from bozor.media.storage import create_storage
from bozor.miniapp.web import (
    SessionDep,
    Viewer,
    ViewerDep,
    answer,
    render,
    runtime_of,
    view_router,
)
from bozor.settings import Settings

PAGE = 10  # ads per page: each has a photo
CURRENCIES = ("UZS", "USD")


class FilterForm(BaseModel):
    """The filters as the search form and the view's query string carry them (empty: any)."""

    category: str = ""
    region: str = ""
    price_min: str = ""
    price_max: str = ""
    currency: str = "UZS"
    q: str = ""

    def filters(self) -> AdFilters:
        """The service's filters (InvalidInputError for a price that is not a number)."""
        return AdFilters(
            category=self.category or None,
            region=self.region or None,
            price_min=_amount(self.price_min),
            price_max=_amount(self.price_max),
            currency=self.currency if self.currency in CURRENCIES else "UZS",
            text=self.q.strip() or None,
        )

    def query(self) -> str:
        """The filters as a query string (only those given)."""
        given = {key: value for key, value in self.model_dump().items() if value}
        if given.get("currency") == "UZS" and not (self.price_min or self.price_max):
            given.pop("currency")
        return urlencode(given)


MAX_FORM = 4096


async def _posted(request: Request) -> FilterForm:
    """The filters of a posted form (urlencoded; first value of each field)."""
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    fields = {key: values[0] for key, values in parse_qs(body).items()}
    return FilterForm(**{key: fields[key] for key in FilterForm.model_fields if key in fields})


PostedDep = Annotated[FilterForm, Depends(_posted)]


def _amount(text: str) -> int | None:
    digits = text.replace(" ", "").replace("\u00a0", "")
    if not digits:
        return None
    if not digits.isdigit() or len(digits) > 15:
        raise InvalidInputError("adsearch.bad_price")
    return int(digits)


def _form_of(saved: SavedSearch) -> FilterForm:
    return FilterForm(
        category=saved.category or "",
        region=saved.region or "",
        price_min="" if saved.price_min is None else str(saved.price_min),
        price_max="" if saved.price_max is None else str(saved.price_max),
        currency=saved.currency,
        q=saved.text or "",
    )


def _card(viewer: Viewer, kinds: Categories, ad: Ad, photo_ids: list[int]) -> dict[str, Any]:
    t = viewer.t
    return {
        "id": ad.id,
        "title": ad.title,
        "price": format_price(t, ad.price, ad.currency),
        "region": ad.region,
        "category": kinds.name(t.language, ad.category),
        "tag": id_tag(t.language, ad.id),
        "published_at": ad.published_at,
        "photo": photo_ids[0] if photo_ids else None,
    }


def create_miniapp_router(settings: Settings) -> APIRouter:
    router = view_router("/classifieds")
    storage = create_storage(settings)
    kinds = categories.of(settings)
    limit = ClassifiedsSettings.of(settings).saved_searches

    def choices(viewer: Viewer) -> dict[str, Any]:
        t = viewer.t
        return {
            "categories": [(slug, kinds.name(t.language, slug)) for slug in kinds.slugs],
            "regions": t("ads.regions").split("|"),
            "currencies": CURRENCIES,
        }

    async def listing(
        viewer: Viewer, session: SessionDep, form: FilterForm, cursor: str | None
    ) -> HTMLResponse:
        error: str | None = None
        page = search.AdPage()
        filters: AdFilters | None = None
        try:
            filters = form.filters()
            page = await search.search(session=session, filters=filters, cursor=cursor, limit=PAGE)
        except DomainError as refused:
            error = viewer.t(refused.code, **refused.params)
        photos = await ads_service.photos_of(session=session, ad_ids=[ad.id for ad in page.ads])
        query = form.query()
        more = None
        if page.next_cursor:
            more = "/classifieds?" + urlencode(
                [*((k, v) for k, v in form.model_dump().items() if v), ("cursor", page.next_cursor)]
            )
        context = choices(viewer)
        if filters is not None and not filters.empty:  # MainButton saves the search
            context |= {
                "main_text": viewer.t("miniapp.classifieds.save_search"),
                "main_form": "save-search",
            }
        return render(
            viewer,
            "classifieds/list.html",
            path="/classifieds" + (f"?{query}" if query else ""),
            back="/",
            form=form,
            ads=[
                _card(viewer, kinds, ad, [p.id for p in photos[ad.id] if p.storage_key])
                for ad in page.ads
            ],
            more=more,
            error=error,
            **context,
        )

    @router.get("")
    async def ads(
        viewer: ViewerDep,
        session: SessionDep,
        form: Annotated[FilterForm, Query()],
        cursor: str | None = None,
    ) -> HTMLResponse:
        """Published ads, newest first, filtered; one page."""
        return await listing(viewer, session, form, cursor)

    @router.post("/search")
    async def run_search(viewer: ViewerDep, form: PostedDep) -> JSONResponse:
        """The search form: go to the list with its filters (a link that can be kept)."""
        query = form.query()
        return answer(go="/classifieds" + (f"?{query}" if query else ""))

    @router.get("/ad/{ad_id}")
    async def ad_page(viewer: ViewerDep, session: SessionDep, ad_id: int) -> HTMLResponse:
        """A published ad (or one of the viewer's own, in any state)."""
        ad = await session.get(Ad, ad_id)
        own = ad is not None and ad.user_id == viewer.user.id
        if ad is None or not (ad.state == AdState.PUBLISHED or own):
            return render(viewer, "not_found.html", status=404, back="/classifieds")
        photos = await ads_service.photos(session=session, ad_id=ad.id)
        url = await latest_url(session=session, ad_id=ad.id) if own else None
        return render(
            viewer,
            "classifieds/ad.html",
            path=f"/classifieds/ad/{ad.id}",
            back="/classifieds",
            ad=ad,
            own=own,
            ad_status=status_text(viewer.t, ad, url) if own else None,
            card=_card(viewer, kinds, ad, []),
            photos=[p.id for p in photos if p.storage_key],
            contact=contact_text(ad),
            can_contact=ad.state == AdState.PUBLISHED and not own,
        )

    @router.post("/ad/{ad_id}/contact")
    async def contact_seller(
        request: Request, viewer: ViewerDep, session: SessionDep, ad_id: int
    ) -> Response:
        """Contact the seller: the bot's deep link that starts the conversation."""
        await contact.open_ad(session=session, ad_id=ad_id, buyer=viewer.user)
        me = await runtime_of(request).bot.me()
        return answer(link=f"https://t.me/{me.username}?start={CONTACT_START}{ad_id}")

    @router.get("/mine")
    async def mine(viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
        """The viewer's own ads with their status."""
        own = await ads_service.my_ads(session=session, user_id=viewer.user.id)
        rows = []
        for ad in own:
            url = await latest_url(session=session, ad_id=ad.id)
            rows.append(
                {"card": _card(viewer, kinds, ad, []), "status": status_text(viewer.t, ad, url)}
            )
        return render(
            viewer,
            "classifieds/mine.html",
            path="/classifieds/mine",
            back="/classifieds",
            rows=rows,
        )

    async def saved_page(
        viewer: Viewer,
        session: SessionDep,
        user_id: int,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        found = await saved_searches.list_for(session=session, user_id=user_id)
        return render(
            viewer,
            "classifieds/saved.html",
            status=status,
            path="/classifieds/saved",
            back="/classifieds",
            saved=[
                {"id": s.id, "text": describe(viewer.t, s, kinds), "query": _form_of(s).query()}
                for s in found
            ],
            limit=limit,
            error=error,
        )

    @router.get("/saved")
    async def saved(viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
        """The viewer's saved searches."""
        return await saved_page(viewer, session, viewer.user.id)

    @router.post("/saved")
    async def save(viewer: ViewerDep, session: SessionDep, form: PostedDep) -> Response:
        """Save the search: a message in the chat when a new ad matches it."""
        user_id = viewer.user.id  # read before a rollback expires the row
        try:
            await saved_searches.create(
                session=session, user_id=user_id, filters=form.filters(), limit=limit
            )
        except DomainError as refused:
            await session.rollback()
            return await saved_page(
                viewer, session, user_id, error=viewer.t(refused.code, **refused.params), status=409
            )
        await session.commit()
        return answer(go="/classifieds/saved")

    @router.post("/saved/{saved_id}/delete")
    async def forget(viewer: ViewerDep, session: SessionDep, saved_id: int) -> JSONResponse:
        """Delete a saved search (no more alerts from it)."""
        await saved_searches.remove(
            session=session, user_id=viewer.user.id, saved_search_id=saved_id
        )
        await session.commit()
        return answer(go="/classifieds/saved")

    @router.get("/photo/{photo_id}")
    async def photo(session: SessionDep, photo_id: int) -> Response:
        """A photo of a published ad (public, as in the channel; an <img> carries no initData)."""
        try:
            found = await ads_service.photo(session=session, photo_id=photo_id)
        except NotFoundError:
            found = None
        ad = await session.get(Ad, found.ad_id) if found else None
        if found is None or ad is None or ad.state != AdState.PUBLISHED or not found.storage_key:
            return PlainTextResponse("not found", status_code=404)
        try:
            data = await storage.get(found.storage_key)
        except (OSError, KeyError):
            return PlainTextResponse("not found", status_code=404)
        return Response(
            data, media_type=CONTENT_TYPE, headers={"Cache-Control": "private, max-age=600"}
        )

    return router
