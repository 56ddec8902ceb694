"""What the classifieds dashboard pages show: ad cards, table rows (the same rows as their CSV),
the notice after an action, and who the signed-in admin is in decisions and bans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Depends, Query
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.classifieds import service
from bozor.classifieds.audit import Decision
from bozor.classifieds.bot.texts_and_keyboards import (
    finding_lines,
    reason_text,
    refusal,
    status_text,
    who,
)
from bozor.classifieds.categories import Categories
from bozor.classifieds.models import Ad, Ban, ChannelPost
from bozor.classifieds.service import latest_url
from bozor.classifieds.texts import contact, format_price
from bozor.i18n import Translator
from bozor.users import service as users_service
from bozor.users.models import User

BASE = "/dashboard/classifieds"
MAX_ID = 2**63 - 1
NOTICE_KEYS = frozenset({"result", "aid", "v", "uid"})  # query of the page after an action

AD_COLUMNS = [
    "id", "state", "version", "category", "title", "description", "price", "currency",
    "contact_phone", "contact_username", "region", "owner_user_id", "owner_telegram_id",
    "owner", "submitted_at", "published_at", "decided_by", "decided_at", "reject_reason",
    "repost_count", "closed_at", "findings", "photos", "url",
]  # fmt: skip
POST_COLUMNS = ["id", "version", "kind", "chat_id", "message_id", "url", "stamp", "created_at"]
DECISION_COLUMNS = ["version", "approved", "reason", "admin", "admin_telegram_id", "created_at"]
BAN_COLUMNS = ["user_id", "telegram_id", "name", "username", "reason", "banned_by", "created_at"]


@dataclass(frozen=True, slots=True)
class AdCard:
    """An ad as a card: what an admin needs to decide on it."""

    ad: Ad
    advertiser: str
    owner_query: str | None  # how the ads page finds the advertiser: Telegram id or @username
    banned: bool
    photo_ids: list[int]  # photos kept in media storage (served by the dashboard)
    missing_photos: int  # photos only Telegram has
    findings: list[str]
    category: str
    price: str
    contact: str
    status: str
    url: str | None


def _query_of(owner: User | None) -> str | None:
    if owner is None:
        return None
    if owner.telegram_id is not None:
        return str(owner.telegram_id)
    return f"@{owner.username}" if owner.username else None


async def cards(
    session: AsyncSession, t: Translator, ads: list[Ad], kinds: Categories
) -> list[AdCard]:
    photos = await service.photos_of(session=session, ad_ids=[a.id for a in ads])
    made = []
    for ad in ads:
        owner = await users_service.get_by_id(session=session, user_id=ad.user_id)
        url = await latest_url(session=session, ad_id=ad.id)
        kept = [p.id for p in photos[ad.id] if p.storage_key]
        made.append(
            AdCard(
                ad=ad,
                advertiser=who(owner),
                owner_query=_query_of(owner),
                banned=await service.is_banned(session=session, user_id=ad.user_id),
                photo_ids=kept,
                missing_photos=len(photos[ad.id]) - len(kept),
                findings=finding_lines(t, ad.findings),
                category=kinds.name(t.language, ad.category),
                price=format_price(t, ad.price, ad.currency),
                contact=contact(ad) or "—",
                status=status_text(t, ad, url),
                url=url,
            )
        )
    return made


@dataclass(frozen=True, slots=True)
class AdLine:
    """An ad as a table row: the ad, its advertiser, photos and latest channel link."""

    ad: Ad
    owner: User | None
    photos: int
    url: str | None


async def lines(session: AsyncSession, ads: list[Ad]) -> list[AdLine]:
    photos = await service.photos_of(session=session, ad_ids=[a.id for a in ads])
    return [
        AdLine(
            ad,
            await users_service.get_by_id(session=session, user_id=ad.user_id),
            len(photos[ad.id]),
            await latest_url(session=session, ad_id=ad.id),
        )
        for ad in ads
    ]


def ad_row(line: AdLine) -> list[Any]:
    ad, owner = line.ad, line.owner
    return [
        ad.id, str(ad.state), ad.version, ad.category, ad.title, ad.description, ad.price,
        ad.currency, ad.contact_phone, ad.contact_username, ad.region, ad.user_id,
        owner.telegram_id if owner else None, owner.full_name if owner else None,
        ad.submitted_at, ad.published_at, ad.decided_by, ad.decided_at, ad.reject_reason,
        ad.repost_count, ad.closed_at, " ".join(str(f["code"]) for f in ad.findings),
        line.photos, line.url,
    ]  # fmt: skip


def _time(value: datetime | None, export: bool) -> datetime | str | None:
    return value if export or value is None else localtime.show(value)


def post_row(post: ChannelPost, *, export: bool = False) -> list[Any]:
    return [
        post.id, post.version, str(post.kind), post.chat_id, post.message_id, post.url,
        post.stamp or "", _time(post.created_at, export),
    ]  # fmt: skip


def decision_row(t: Translator, decision: Decision, *, export: bool = False) -> list[Any]:
    """A decision; for the page, translated (the CSV keeps the stored values)."""
    if export:
        return [
            decision.version, decision.approved, decision.reason, decision.admin_name,
            decision.admin_telegram_id, decision.created_at,
        ]  # fmt: skip
    shown = "✅ " + t("dashboard.approve") if decision.approved else "❌ " + t("dashboard.reject")
    return [
        decision.version, shown, "" if decision.approved else reason_text(t, decision.reason),
        decision.admin_name, decision.admin_telegram_id or "—", _time(decision.created_at, export),
    ]  # fmt: skip


def ban_row(ban: Ban, user: User) -> list[Any]:
    return [
        user.id, user.telegram_id, user.full_name, user.username, ban.reason, ban.banned_by,
        ban.created_at,
    ]  # fmt: skip


def back_to(target: str | None, **notice: object) -> RedirectResponse:
    """Back to the classifieds page the form was on (never elsewhere), with the notice."""
    parts = urlsplit(target or "")
    inside = (
        not parts.scheme
        and not parts.netloc
        and (parts.path == BASE or parts.path.startswith(f"{BASE}/"))
        and ".." not in parts.path
    )
    path = parts.path if inside else BASE
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in NOTICE_KEYS] if inside else []
    query += [(k, str(v)) for k, v in notice.items() if v is not None]
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


@dataclass(frozen=True, slots=True)
class NoticeArgs:
    """The notice a page shows after an action: its result and the ad / version / user."""

    result: str | None = None
    aid: int | None = None
    v: int | None = None
    uid: int | None = None


def notice_args(
    result: Annotated[str | None, Query(max_length=32)] = None,
    aid: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    v: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    uid: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> NoticeArgs:
    return NoticeArgs(result, aid, v, uid)


NoticeDep = Annotated[NoticeArgs, Depends(notice_args)]


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    ok: bool


async def notice(session: AsyncSession, t: Translator, args: NoticeArgs) -> Notice | None:
    """What the last action did, in the admin's language (worked out again from the data, so
    a link cannot make the page say anything else)."""
    result = args.result
    if result in ("approved", "rejected"):
        return Notice(t(f"dashboard.classifieds.{result}", id=args.aid), True)
    if result == "refused" and args.aid is not None:
        ad = await session.get(Ad, args.aid)
        if ad is not None:
            return Notice(refusal(t, ad, args.v or ad.version), False)
    if result in ("banned", "unbanned", "not_banned") and args.uid is not None:
        user = await users_service.get_by_id(session=session, user_id=args.uid)
        if user is not None:
            key = {"banned": "ads.banned_done", "unbanned": "ads.unbanned_done"}
            return Notice(t(key.get(result, "ads.not_banned"), who=user.full_name), True)
    if result in ("bad_reason", "user_unknown", "not_found", "wrong_state"):
        return Notice(t(f"ads.{result}"), False)
    return None
