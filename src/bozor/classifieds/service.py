"""The classifieds rules: submitting, deciding, publishing, closing, searching and banning.

Every function takes the caller's session and only flushes; the edge commits. Messages go
through the outbox in the same transaction as the change that causes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import audit, notify, prescreen, saved_searches
from bozor.classifieds.exceptions import (
    AdNotFoundError,
    AlreadyDecidedError,
    BannedError,
    NotYourAdError,
    WrongStateError,
)
from bozor.classifieds.models import (
    CLOSED_STATES,
    Ad,
    AdminCopy,
    AdPhoto,
    AdState,
    Ban,
    ChannelPost,
    CheckAnswer,
    PostKind,
    SoldCheck,
)
from bozor.classifieds.schemas import AdDraft
from bozor.db import utcnow
from bozor.errors import InvalidInputError
from bozor.settings import Settings
from bozor.users.models import User

# The reasons admins pick from (Telegram's buttons, the dashboard's list); stored as `@<code>`
# so each reader sees it in their own language. Any other reason is the admin's own words.
REJECT_REASONS = ("prohibited", "incomplete", "photos", "duplicate", "price")
REASON_MIN, REASON_MAX = 2, 500


async def is_banned(*, session: AsyncSession, user_id: int) -> bool:
    """Whether the user may not post ads."""
    return bool(await session.scalar(select(func.count()).where(Ban.user_id == user_id)))


async def get(*, session: AsyncSession, ad_id: int) -> Ad:
    """An ad by id (AdNotFoundError if none)."""
    ad = await session.get(Ad, ad_id)
    if ad is None:
        raise AdNotFoundError(id=ad_id)
    return ad


async def photos(*, session: AsyncSession, ad_id: int) -> list[AdPhoto]:
    """An ad's photos in order."""
    return list(
        await session.scalars(
            select(AdPhoto).where(AdPhoto.ad_id == ad_id).order_by(AdPhoto.position)
        )
    )


def _signed(value: int | None) -> int | None:
    if value is None:
        return None
    value &= 2**64 - 1
    return value - 2**64 if value >= 2**63 else value


async def submit(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    draft: AdDraft,
    ad_id: int | None = None,
) -> Ad:
    """Store a complete ad for review (a new one, or a new version of `ad_id`), screen it and
    tell every admin. Refused for banned users and for closed ads."""
    if await is_banned(session=session, user_id=user.id):
        raise BannedError()
    findings = await prescreen.screen(
        session=session, settings=settings, draft=draft, user_id=user.id, ad_id=ad_id
    )
    fields = draft.model_dump(exclude={"photos"})
    if draft.price is None:
        fields["currency"] = None
    now = utcnow()
    if ad_id is None:
        ad = Ad(
            user_id=user.id,
            **fields,
            findings=[f.model_dump() for f in findings],
            language=settings.default_language,
            submitted_at=now,
            updated_at=now,
        )
        session.add(ad)
        await session.flush()
    else:
        ad = await _own(session, ad_id, user)
        # Conditional on the state: a concurrent "mark sold" or a second Send does not race.
        result = await session.execute(
            update(Ad)
            .where(Ad.id == ad_id, Ad.state.not_in(CLOSED_STATES), Ad.version == ad.version)
            .values(
                **fields,
                state=AdState.REVIEW,
                version=Ad.version + 1,
                findings=[f.model_dump() for f in findings],
                reject_reason=None,
                decided_by=None,
                decided_at=None,
                submitted_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise WrongStateError()
        await session.refresh(ad)
        await session.execute(delete(AdPhoto).where(AdPhoto.ad_id == ad.id))
    if draft.photos:
        await session.execute(
            insert(AdPhoto),
            [
                {
                    "ad_id": ad.id,
                    "position": i,
                    "file_id": photo.file_id,
                    "file_unique_id": photo.file_unique_id,
                    "storage_key": photo.storage_key,
                    "dhash": _signed(photo.dhash),
                }
                for i, photo in enumerate(draft.photos)
            ],
        )
    await notify.review(session=session, ad=ad, admins=settings.admin_ids, photos=len(draft.photos))
    return ad


async def _own(session: AsyncSession, ad_id: int, user: User) -> Ad:
    ad = await get(session=session, ad_id=ad_id)
    if ad.user_id != user.id:
        raise NotYourAdError()
    return ad


def rejection_reason(*, listed: str | None = None, typed: str | None = None) -> str:
    """What a rejection stores: `@<code>` for a reason of REJECT_REASONS, else the admin's own
    words (spaces collapsed, 2–500 characters; InvalidInputError `ads.bad_reason` otherwise)."""
    if listed in REJECT_REASONS:
        return f"@{listed}"
    words = " ".join((typed or "").split())
    if not REASON_MIN <= len(words) <= REASON_MAX:
        raise InvalidInputError("ads.bad_reason")
    return words


@dataclass(frozen=True, slots=True)
class Decided:
    ad: Ad
    version: int
    approved: bool
    owner: User | None = None  # the advertiser


async def decide(
    *,
    session: AsyncSession,
    ad_id: int,
    approve: bool,
    admin_name: str,
    admin_chat_id: int | None,
    channel: int | None,
    reason: str | None = None,
    version: int | None = None,
    message_id: int | None = None,
) -> Decided:
    """Approve (publish) or reject an ad under review. The first decision wins: a conditional
    UPDATE takes the ad out of review, so a second one finds nothing and is refused with who
    decided. `version`, when given, refuses a decision on content changed since; `message_id`
    is the review message the admin pressed (recorded with the decision)."""
    ad = await get(session=session, ad_id=ad_id)
    version = version or ad.version
    now = utcnow()
    values: dict[str, object] = {
        "decided_by": admin_name,
        "decided_at": now,
        "updated_at": now,
    }
    if approve:
        values |= {
            "state": AdState.PUBLISHED,
            "published_at": now,
            "last_posted_at": now,
            "reject_reason": None,
        }
    else:
        values |= {"state": AdState.REJECTED, "reject_reason": reason}
    result = await session.execute(
        update(Ad)
        .where(Ad.id == ad_id, Ad.state == AdState.REVIEW, Ad.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(ad)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyDecidedError(
            id=ad.id, by=ad.decided_by or "—", state=str(ad.state), version=ad.version
        )
    await audit.record_decision(
        session=session,
        ad_id=ad.id,
        version=version,
        approved=approve,
        reason=reason,
        admin_name=admin_name,
        admin_telegram_id=admin_chat_id,
        message_id=message_id,
    )
    owner = await session.get(User, ad.user_id)
    owner_chat = owner.telegram_id if owner else None
    await notify.decided(session=session, ad=ad, version=version, skip_chat=admin_chat_id)
    if approve:
        await saved_searches.alert_matching(session=session, ad=ad)
        if channel is not None:
            # The owner is told with the link once the channel post exists (see the renderer).
            await notify.channel_post(
                session=session, ad=ad, channel=channel, kind=PostKind.PUBLISH
            )
        else:
            await notify.owner(
                session=session, telegram_id=owner_chat, kind=notify.PUBLISHED, ad_id=ad.id, url=""
            )
    else:
        await notify.owner(
            session=session, telegram_id=owner_chat, kind=notify.REJECTED, ad_id=ad.id
        )
    await session.flush()
    return Decided(ad, version, approve, owner)


async def locked_after_write(session: AsyncSession, ad_id: int) -> Ad | None:
    """The ad, read after a write (a message's record, an owner's answer) and, on PostgreSQL,
    under its row lock.

    A change of the ad (decision, sale, withdrawal, expiry) committing meanwhile then either
    sees the write (and edits that message, or keeps the ad) or is seen by the caller.
    Without the lock each could miss the other (write skew): a stale message, or an ad
    expired after its owner was told it stays.

    FOR NO KEY UPDATE, the lock an UPDATE of the ad takes: two hooks for one ad both hold the
    key-share lock of their record's foreign key, which a plain FOR UPDATE would wait on, each
    for the other's, in a deadlock."""
    return await session.scalar(
        select(Ad)
        .where(Ad.id == ad_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


async def record_post(
    *,
    session: AsyncSession,
    ad_id: int,
    version: int,
    kind: PostKind,
    chat_id: int,
    message_id: int,
    has_photos: bool,
    url: str,
) -> None:
    """A channel post was made: remember it (for SOLD edits); on first publication of a
    version, tell the owner with the link and mark the older versions' posts outdated."""
    session.add(
        ChannelPost(
            ad_id=ad_id,
            version=version,
            kind=kind,
            chat_id=chat_id,
            message_id=message_id,
            has_photos=has_photos,
            url=url,
        )
    )
    await session.flush()
    ad = await locked_after_write(session, ad_id)
    if ad is None:
        return
    if ad.state in CLOSED_STATES:  # closed while the post was on its way
        await notify.stamp(session=session, ad_id=ad_id, stamp=str(ad.state))
    if kind == PostKind.PUBLISH:
        owner = await session.get(User, ad.user_id)
        await notify.owner(
            session=session,
            telegram_id=owner.telegram_id if owner else None,
            kind=notify.PUBLISHED,
            ad_id=ad_id,
            url=url,
        )
        await notify.stamp(session=session, ad_id=ad_id, stamp="outdated", before_version=version)


async def _close(session: AsyncSession, ad: Ad, state: AdState, allowed: Sequence[AdState]) -> Ad:
    now = utcnow()
    result = await session.execute(
        update(Ad)
        .where(Ad.id == ad.id, Ad.state.in_(allowed))
        .values(state=state, closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(ad)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongStateError(state=str(ad.state))
    stamp = {AdState.SOLD: "sold", AdState.WITHDRAWN: "withdrawn"}.get(state)
    if stamp:
        await notify.stamp(session=session, ad_id=ad.id, stamp=stamp)
    if state == AdState.WITHDRAWN:  # the admins need not decide on it any more
        await notify.decided(session=session, ad=ad, version=ad.version, skip_chat=None)
    await session.flush()
    return ad


async def mark_sold(*, session: AsyncSession, ad_id: int, user: User) -> Ad:
    """The owner sold it: no more reposts or checks, channel posts show SOLD."""
    ad = await _own(session, ad_id, user)
    return await _close(session, ad, AdState.SOLD, (AdState.PUBLISHED,))


async def withdraw(*, session: AsyncSession, ad_id: int, user: User) -> Ad:
    """The owner takes the ad back, in review or published."""
    ad = await _own(session, ad_id, user)
    return await _close(session, ad, AdState.WITHDRAWN, (AdState.REVIEW, AdState.PUBLISHED))


async def answer_check(*, session: AsyncSession, check_id: int, user: User, sold: bool) -> Ad:
    """The owner's answer to "Sold?": Yes closes the ad as sold, No keeps it."""
    check = await session.get(SoldCheck, check_id)
    if check is None:
        raise AdNotFoundError(id=check_id)
    ad = await _own(session, check.ad_id, user)
    now = utcnow()
    await session.execute(
        update(SoldCheck)
        .where(SoldCheck.id == check_id, SoldCheck.answer.is_(None))
        .values(answer=CheckAnswer.YES if sold else CheckAnswer.NO, answered_at=now)
    )
    if sold:
        return await _close(session, ad, AdState.SOLD, (AdState.PUBLISHED,))
    # The expiry sweep counts the answers under the same lock: it sees this "No", or the
    # ad read here is already expired.
    kept = await locked_after_write(session, ad.id)
    if kept is None or kept.state != AdState.PUBLISHED:
        raise WrongStateError(state=str(kept.state if kept else ad.state))
    return kept


async def my_ads(*, session: AsyncSession, user_id: int, limit: int = 30) -> list[Ad]:
    """A user's ads, newest first."""
    return list(
        await session.scalars(
            select(Ad).where(Ad.user_id == user_id).order_by(Ad.id.desc()).limit(limit)
        )
    )


async def queue(*, session: AsyncSession, limit: int = 50, after_id: int = 0) -> list[Ad]:
    """Ads waiting for review, oldest first."""
    return list(
        await session.scalars(
            select(Ad)
            .where(Ad.state == AdState.REVIEW, Ad.id > after_id)
            .order_by(Ad.id)
            .limit(limit)
        )
    )


async def queue_size(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Ad.state == AdState.REVIEW)) or 0)


async def counts(*, session: AsyncSession) -> dict[AdState, int]:
    """How many ads are in each state (every state listed, 0 when none)."""
    rows = await session.execute(select(Ad.state, func.count()).group_by(Ad.state))
    found = {AdState(state): int(n) for state, n in rows.all()}
    return {state: found.get(state, 0) for state in AdState}


async def photos_of(*, session: AsyncSession, ad_ids: Sequence[int]) -> dict[int, list[AdPhoto]]:
    """The photos of several ads in order, by ad id (an ad without photos: an empty list)."""
    found: dict[int, list[AdPhoto]] = {ad_id: [] for ad_id in ad_ids}
    if ad_ids:
        rows = await session.scalars(
            select(AdPhoto)
            .where(AdPhoto.ad_id.in_(ad_ids))
            .order_by(AdPhoto.ad_id, AdPhoto.position)
        )
        for photo in rows:
            found[photo.ad_id].append(photo)
    return found


async def photo(*, session: AsyncSession, photo_id: int) -> AdPhoto:
    """One stored photo (AdNotFoundError if none)."""
    found = await session.get(AdPhoto, photo_id)
    if found is None:
        raise AdNotFoundError(id=photo_id)
    return found


async def posts(*, session: AsyncSession, ad_id: int) -> list[ChannelPost]:
    """An ad's channel posts, oldest first."""
    return list(
        await session.scalars(
            select(ChannelPost).where(ChannelPost.ad_id == ad_id).order_by(ChannelPost.id)
        )
    )


async def decisions(*, session: AsyncSession, ad_id: int) -> list[audit.Decision]:
    """The admins' decisions on an ad, one per version decided, oldest first."""
    return await audit.decisions(session=session, ad_id=ad_id)


async def edited_elsewhere(
    *, session: AsyncSession, ad: Ad, version: int, chat_id: int, message_id: int
) -> bool:
    """Whether someone else edits this review copy to show the decision: the handler of the
    press that decided on it (a double press), or the outbox (every remembered copy but the
    decider's own)."""
    decisions = [
        d for d in await audit.decisions(session=session, ad_id=ad.id) if d.version == version
    ]
    decision = decisions[-1] if decisions else None
    if decision is not None and (decision.admin_telegram_id, decision.message_id) == (
        chat_id,
        message_id,
    ):
        return True
    copy = await session.scalar(
        select(AdminCopy.id).where(
            AdminCopy.ad_id == ad.id,
            AdminCopy.version == version,
            AdminCopy.chat_id == chat_id,
            AdminCopy.message_id == message_id,
        )
    )
    if copy is None:
        return False
    withdrawn = ad.state == AdState.WITHDRAWN and ad.version == version
    return withdrawn or (decision is not None and decision.admin_telegram_id != chat_id)


async def find_user(*, session: AsyncSession, who: str) -> User | None:
    """A user by Telegram id or @username."""
    who = who.strip()
    if who.lstrip("-").isdigit():
        return await session.scalar(select(User).where(User.telegram_id == int(who)))
    name = who.removeprefix("@").lower()
    if not name:
        return None
    return await session.scalar(
        select(User).where(func.lower(User.username) == name).order_by(User.id).limit(1)
    )


async def search(
    *,
    session: AsyncSession,
    ad_id: int | None = None,
    user_id: int | None = None,
    state: AdState | None = None,
    limit: int = 50,
) -> list[Ad]:
    """Ads by id or by owner, newest first."""
    query = select(Ad).order_by(Ad.id.desc()).limit(limit)
    if ad_id is not None:
        query = query.where(Ad.id == ad_id)
    if user_id is not None:
        query = query.where(Ad.user_id == user_id)
    if state is not None:
        query = query.where(Ad.state == state)
    return list(await session.scalars(query))


async def ban(*, session: AsyncSession, user: User, reason: str | None, by: str) -> Ban:
    """Stop a user from posting ads (their ads in review stay for the admins to decide)."""
    existing = await session.scalar(select(Ban).where(Ban.user_id == user.id))
    if existing is not None:
        return existing
    banned = Ban(user_id=user.id, reason=reason, banned_by=by)
    session.add(banned)
    await session.flush()
    return banned


async def unban(*, session: AsyncSession, user: User) -> bool:
    """Let a banned user post again; False if they were not banned."""
    result = await session.execute(delete(Ban).where(Ban.user_id == user.id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def ban_by_name(*, session: AsyncSession, who: str, reason: str | None, by: str) -> User:
    """`ban` the user a Telegram id or @username names (InvalidInputError `ads.user_unknown`
    if nobody is known so); returns them."""
    user = await find_user(session=session, who=who)
    if user is None:
        raise InvalidInputError("ads.user_unknown")
    await ban(session=session, user=user, reason=reason, by=by)
    return user


async def unban_by_name(*, session: AsyncSession, who: str) -> tuple[User, bool]:
    """`unban` the user a Telegram id or @username names (InvalidInputError
    `ads.user_unknown` if nobody is known so); returns them and whether they were banned."""
    user = await find_user(session=session, who=who)
    if user is None:
        raise InvalidInputError("ads.user_unknown")
    return user, await unban(session=session, user=user)


async def bans(*, session: AsyncSession, limit: int = 200) -> list[tuple[Ban, User]]:
    """Users who may not post ads, newest ban first."""
    rows = await session.execute(
        select(Ban, User).join(User, User.id == Ban.user_id).order_by(Ban.id.desc()).limit(limit)
    )
    return [(b, u) for b, u in rows.all()]


# --- what admins and owners look at ------------------------------------------------------


async def latest_url(*, session: AsyncSession, ad_id: int) -> str | None:
    """The link of the ad's latest channel post (None: never posted)."""
    return await session.scalar(
        select(ChannelPost.url)
        .where(ChannelPost.ad_id == ad_id)
        .order_by(ChannelPost.id.desc())
        .limit(1)
    )


async def latest_urls(*, session: AsyncSession, ad_ids: Sequence[int]) -> dict[int, str | None]:
    """`latest_url` of several ads in one query (an ad never posted is not in it)."""
    if not ad_ids:
        return {}
    rows = await session.execute(
        select(ChannelPost.ad_id, ChannelPost.url)
        .where(ChannelPost.ad_id.in_(ad_ids))
        .order_by(ChannelPost.id)
    )
    return {row.ad_id: row.url for row in rows}  # the latest post of each comes last


@dataclass(frozen=True, slots=True)
class Listed:
    """An ad in a list, with the link of its latest channel post."""

    ad: Ad
    url: str | None


async def my_listing(*, session: AsyncSession, user_id: int, limit: int = 30) -> list[Listed]:
    """A member's own ads (my_ads), each with its latest post's link."""
    ads = await my_ads(session=session, user_id=user_id, limit=limit)
    urls = await latest_urls(session=session, ad_ids=[ad.id for ad in ads])
    return [Listed(ad, urls.get(ad.id)) for ad in ads]


async def own_ad(*, session: AsyncSession, ad_id: int, user: User) -> Listed:
    """One of the member's own ads with its latest post's link (NotYourAdError otherwise)."""
    ad = await _own(session, ad_id, user)
    return Listed(ad, await latest_url(session=session, ad_id=ad.id))


@dataclass(frozen=True, slots=True)
class AdDetail:
    """An ad as an admin looks at it: its owner, photos and latest post's link."""

    ad: Ad
    owner: User | None
    photos: list[AdPhoto]
    url: str | None


async def detail(*, session: AsyncSession, ad_id: int) -> AdDetail:
    """An ad with its owner, photos and latest post's link."""
    ad = await get(session=session, ad_id=ad_id)
    return AdDetail(
        ad=ad,
        owner=await session.get(User, ad.user_id),
        photos=await photos(session=session, ad_id=ad.id),
        url=await latest_url(session=session, ad_id=ad.id),
    )


@dataclass(frozen=True, slots=True)
class UserAds:
    """A user's ads (newest first, with their links) and whether they are banned."""

    user: User
    ads: list[Listed]
    banned: bool


async def user_ads(*, session: AsyncSession, who: str, limit: int = 30) -> UserAds | None:
    """A user (by Telegram id or @username) with their ads; None if nobody is known so."""
    user = await find_user(session=session, who=who)
    if user is None:
        return None
    ads = await search(session=session, user_id=user.id, limit=limit)
    urls = await latest_urls(session=session, ad_ids=[ad.id for ad in ads])
    return UserAds(
        user=user,
        ads=[Listed(ad, urls.get(ad.id)) for ad in ads],
        banned=await is_banned(session=session, user_id=user.id),
    )
