"""The classifieds pages of the dashboard: the review queue — each ad with its photos, text,
price, contact, advertiser and pre-screening findings — with Approve / Reject calling the
same service function as the Telegram buttons (the first decision wins; the ad is posted, its
owner told, every admin's review message updated), every ad by state or found by id or
advertiser, an ad's channel posts and decisions, and bans. Every table has a CSV twin;
photos come from media storage, for signed-in admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories, service
from bozor.classifieds.bot.texts_and_keyboards import reason_text
from bozor.classifieds.dashboard_views import (
    AD_COLUMNS,
    BAN_COLUMNS,
    BASE,
    DECISION_COLUMNS,
    POST_COLUMNS,
    NoticeDep,
    ad_row,
    back_to,
    ban_row,
    cards,
    decision_row,
    lines,
    notice,
    post_row,
)
from bozor.classifieds.exceptions import AdNotFoundError, AlreadyDecidedError
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.photos import CONTENT_TYPE
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.classifieds.texts import ad_number, format_price
from bozor.dashboard.web import (
    Admin,
    AdminDep,
    admin_name,
    checked_form,
    csv_response,
    language_of,
    render,
    runtime_of,
)
from bozor.errors import DomainError
from bozor.featurekit import Figure, Section
from bozor.i18n import Translator
from bozor.media.storage import create_storage
from bozor.users import service as users_service
from bozor.users.models import User

PAGE = 100
EXPORT = 100_000
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Text = Annotated[str, Query(max_length=100)]


async def _search(
    session: AsyncSession, ad: str, user: str, state: AdState | None, limit: int
) -> tuple[list[Ad], User | None, bool]:
    """Ads by id and/or advertiser (@username or Telegram id) and state, newest first; the
    advertiser found, and whether one was asked for but is unknown."""
    owner = await service.find_user(session=session, who=user) if user.strip() else None
    if user.strip() and owner is None:
        return [], None, True
    ad_id = ad_number(ad) if ad.strip() else None
    if ad.strip() and ad_id is None:
        return [], owner, False
    found = await service.search(
        session=session,
        ad_id=ad_id,
        user_id=owner.id if owner else None,
        state=state,
        limit=limit,
    )
    return found, owner, False


def create_router() -> APIRouter:
    router = APIRouter(prefix="/classifieds")

    @router.get("")
    async def queue_page(request: Request, admin: AdminDep, done: NoticeDep) -> Response:
        """The ads waiting for review, oldest first, each with Approve and Reject."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            waiting = await service.queue(session=session, limit=PAGE)
            return render(
                request,
                "classifieds/queue.html",
                admin=admin,
                cards=await cards(session, t, waiting, categories.of(runtime_of(request).settings)),
                counts=await service.counts(session=session),
                notice=await notice(session, t, done),
                reasons=service.REJECT_REASONS,
                here=str(request.url.path),
            )

    @router.get("/queue.csv")
    async def queue_csv(request: Request, admin: AdminDep) -> Response:
        async with runtime_of(request).session_factory() as session:
            waiting = await service.queue(session=session, limit=EXPORT)
            rows = [ad_row(line) for line in await lines(session, waiting)]
        return csv_response("ads-queue.csv", AD_COLUMNS, rows)

    @router.get("/ads")
    async def ads_page(
        request: Request,
        admin: AdminDep,
        state: AdState | None = None,
        ad: Text = "",
        user: Text = "",
        *,
        done: NoticeDep,
    ) -> Response:
        """Every ad, newest first: by state, by id, or by advertiser."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            found, owner, unknown = await _search(session, ad, user, state, PAGE)
            return render(
                request,
                "classifieds/ads.html",
                admin=admin,
                state=state,
                states=list(AdState),
                ad=ad,
                user=user,
                owner=owner,
                owner_banned=owner is not None
                and await service.is_banned(session=session, user_id=owner.id),
                unknown=unknown,
                lines=await lines(session, found),
                reason=lambda stored: reason_text(t, stored),
                price=lambda a: format_price(t, a.price, a.currency),
                counts=await service.counts(session=session),
                notice=await notice(session, t, done),
                here=f"{request.url.path}?{request.url.query}",
            )

    @router.get("/ads.csv")
    async def ads_csv(
        request: Request,
        admin: AdminDep,
        state: AdState | None = None,
        ad: Text = "",
        user: Text = "",
    ) -> Response:
        async with runtime_of(request).session_factory() as session:
            found, _, _ = await _search(session, ad, user, state, EXPORT)
            rows = [ad_row(line) for line in await lines(session, found)]
        return csv_response("ads.csv", AD_COLUMNS, rows)

    @router.get("/ads/{ad_id}")
    async def ad_page(
        request: Request,
        admin: AdminDep,
        ad_id: Id,
        done: NoticeDep,
    ) -> Response:
        """One ad: its card (with the buttons while in review), channel posts, decisions."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            found = await service.get(session=session, ad_id=ad_id)
            posts = await service.posts(session=session, ad_id=ad_id)
            decisions = await service.decisions(session=session, ad_id=ad_id)
            return render(
                request,
                "classifieds/ad.html",
                admin=admin,
                card=(
                    await cards(session, t, [found], categories.of(runtime_of(request).settings))
                )[0],
                reason=reason_text(t, found.reject_reason),
                posts=[post_row(p) for p in posts],
                decisions=[decision_row(t, d) for d in decisions],
                notice=await notice(session, t, done),
                reasons=service.REJECT_REASONS,
                here=str(request.url.path),
            )

    @router.get("/ads/{ad_id}/posts.csv")
    async def posts_csv(request: Request, admin: AdminDep, ad_id: Id) -> Response:
        async with runtime_of(request).session_factory() as session:
            posts = await service.posts(session=session, ad_id=ad_id)
        rows = [post_row(p, export=True) for p in posts]
        return csv_response(f"ad-{ad_id}-posts.csv", POST_COLUMNS, rows)

    @router.get("/ads/{ad_id}/decisions.csv")
    async def decisions_csv(request: Request, admin: AdminDep, ad_id: Id) -> Response:
        t = Translator("en")
        async with runtime_of(request).session_factory() as session:
            decisions = await service.decisions(session=session, ad_id=ad_id)
        return csv_response(
            f"ad-{ad_id}-decisions.csv",
            DECISION_COLUMNS,
            [decision_row(t, d, export=True) for d in decisions],
        )

    @router.get("/photos/{photo_id}.jpg")
    async def photo(request: Request, admin: AdminDep, photo_id: Id) -> Response:
        """A photo of an ad, from media storage (local folder or S3)."""
        runtime = runtime_of(request)
        async with runtime.session_factory() as session:
            try:
                found = await service.photo(session=session, photo_id=photo_id)
            except AdNotFoundError:
                found = None
        storage = create_storage(runtime.settings)
        if found is None or not found.storage_key or not await storage.exists(found.storage_key):
            return PlainTextResponse("not found", status_code=404)
        data = await storage.get(found.storage_key)
        return Response(
            data,
            media_type=CONTENT_TYPE,
            headers={
                "Cache-Control": "private, max-age=86400",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.post("/ads/{ad_id}/approve")
    async def approve(request: Request, admin: AdminDep, ad_id: Id) -> Response:
        """Approve, exactly as the Telegram button does: published, owner told with the link,
        every admin's review message shows who decided. A second decision is refused."""
        return await _decide(request, admin, ad_id, approve=True)

    @router.post("/ads/{ad_id}/reject")
    async def reject(request: Request, admin: AdminDep, ad_id: Id) -> Response:
        """Reject with a reason from the list or typed, exactly as the Telegram buttons do."""
        return await _decide(request, admin, ad_id, approve=False)

    @router.get("/bans")
    async def bans_page(request: Request, admin: AdminDep, done: NoticeDep) -> Response:
        """Users who may not post ads, with Unban; and a form to ban someone."""
        t = Translator(language_of(request))
        async with runtime_of(request).session_factory() as session:
            return render(
                request,
                "classifieds/bans.html",
                admin=admin,
                bans=await service.bans(session=session, limit=PAGE),
                counts=await service.counts(session=session),
                notice=await notice(session, t, done),
                here=str(request.url.path),
            )

    @router.get("/bans.csv")
    async def bans_csv(request: Request, admin: AdminDep) -> Response:
        async with runtime_of(request).session_factory() as session:
            found = await service.bans(session=session, limit=EXPORT)
        return csv_response("ads-bans.csv", BAN_COLUMNS, [ban_row(b, u) for b, u in found])

    @router.post("/bans")
    async def ban(request: Request, admin: AdminDep) -> Response:
        """Stop a user (@username or Telegram id) from posting ads, as /ads_ban does."""
        fields = await checked_form(request, admin)
        async with runtime_of(request).session_factory() as session:
            found = await service.find_user(session=session, who=fields.get("who", "")[:100])
            if found is None:
                return back_to(fields.get("next"), result="user_unknown")
            reason = " ".join(fields.get("reason", "").split())[:500] or None
            by = await admin_name(session, admin)
            await service.ban(session=session, user=found, reason=reason, by=by)
            await session.commit()
            return back_to(fields.get("next"), result="banned", uid=found.id)

    @router.post("/bans/{user_id}/unban")
    async def unban(request: Request, admin: AdminDep, user_id: Id) -> Response:
        """Let a banned user post ads again, as /ads_unban does."""
        fields = await checked_form(request, admin)
        async with runtime_of(request).session_factory() as session:
            found = await users_service.get_by_id(session=session, user_id=user_id)
            if found is None:
                return back_to(fields.get("next"), result="user_unknown")
            done = await service.unban(session=session, user=found)
            await session.commit()
            result = "unbanned" if done else "not_banned"
            return back_to(fields.get("next"), result=result, uid=user_id)

    return router


async def _decide(request: Request, admin: Admin, ad_id: int, *, approve: bool) -> Response:
    fields = await checked_form(request, admin)
    version = _version(fields.get("version"))
    back = fields.get("next")
    runtime = runtime_of(request)
    async with runtime.session_factory() as session:
        try:
            reason = (
                None
                if approve
                else service.rejection_reason(
                    listed=fields.get("reason"), typed=fields.get("other")
                )
            )
            await service.decide(
                session=session,
                ad_id=ad_id,
                approve=approve,
                admin_name=await admin_name(session, admin),
                admin_chat_id=None,  # every admin's review message is edited by the outbox
                channel=ClassifiedsSettings.of(runtime.settings).channel_id,
                reason=reason,
                version=version,
            )
        except AlreadyDecidedError:
            return back_to(back, result="refused", aid=ad_id, v=version)
        except DomainError as exc:
            return back_to(back, result=exc.code.removeprefix("ads."), aid=ad_id)
        await session.commit()
    return back_to(back, result="approved" if approve else "rejected", aid=ad_id)


def _version(text: str | None) -> int | None:
    """The version the admin saw (a decision on anything newer is refused)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 10 else None


async def figures(session: AsyncSession) -> list[Figure]:
    counts = await service.counts(session=session)
    return [
        ("dashboard.classifieds.waiting", str(counts[AdState.REVIEW]), BASE),
        (
            "dashboard.classifieds.published",
            str(counts[AdState.PUBLISHED]),
            f"{BASE}/ads?state=published",
        ),
    ]


SECTION = Section(
    "classifieds",
    "dashboard.classifieds.nav",
    create_router,
    feature="classifieds",
    figures=figures,
)
