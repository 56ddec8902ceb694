"""Contact the seller: a buyer's messages relayed to an ad's seller by the bot, and the
seller's answers relayed back.

Neither side sees the other's phone number or username: the bot copies the text into a
message of its own (never a forward, which would link the sender's profile). The seller's
phone is shown only where the seller put it in the ad. A buyer may start a conversation
only about a published ad, not their own; each person may send `classifieds_contact_hourly`
relayed messages an hour.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search_models import ContactMessage, ContactThread
from bozor.db import serialize, upsert_insert, utcnow
from bozor.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from bozor.outbox import service as outbox
from bozor.users.models import User

CONTACT_MESSAGE = "ads.contact_message"  # the outbox kind of a relayed message
TEXT_MAX = 1000
RATE_WINDOW = timedelta(hours=1)


class AdNotOpenError(ConflictError):
    """The ad is not published (in review, sold, withdrawn...): no new conversations."""

    code = "adsearch.contact_closed"


class OwnAdError(ForbiddenError):
    code = "adsearch.contact_own"


class NotInThreadError(NotFoundError):
    code = "adsearch.contact_no_thread"


class TooManyMessagesError(ConflictError):
    code = "adsearch.contact_too_many"


class BadMessageError(InvalidInputError):
    code = "adsearch.contact_bad_text"


async def open_ad(*, session: AsyncSession, ad_id: int, buyer: User) -> Ad:
    """The ad a buyer wants to write about, if they may (published, not theirs)."""
    ad = await session.get(Ad, ad_id)
    if ad is None or ad.state != AdState.PUBLISHED:
        raise AdNotOpenError(id=ad_id)
    if ad.user_id == buyer.id:
        raise OwnAdError()
    return ad


def clean(text: str | None) -> str:
    """The message as relayed: trimmed, 1–TEXT_MAX characters (BadMessageError otherwise)."""
    cleaned = (text or "").strip()
    if not 1 <= len(cleaned) <= TEXT_MAX:
        raise BadMessageError(max=TEXT_MAX)
    return cleaned


async def _check_rate(session: AsyncSession, sender: User, hourly: int) -> None:
    # One at a time per sender, so that simultaneous messages cannot all pass the limit.
    await serialize(session, f"contact:{sender.id}", sqlite_table="classified_contact_messages")
    sent = await session.scalar(
        select(func.count()).where(
            ContactMessage.sender_id == sender.id,
            ContactMessage.created_at > utcnow() - RATE_WINDOW,
        )
    )
    if int(sent or 0) >= hourly:
        raise TooManyMessagesError(limit=hourly)


async def _relay(
    session: AsyncSession, thread: ContactThread, sender: User, text: str, *, to_chat: int | None
) -> ContactMessage:
    message = ContactMessage(
        thread_id=thread.id, sender_id=sender.id, from_buyer=sender.id == thread.buyer_id, text=text
    )
    session.add(message)
    await session.flush()
    if to_chat is not None:
        await outbox.enqueue(
            session=session,
            chat_id=to_chat,
            kind=CONTACT_MESSAGE,
            params={"message_id": message.id},
        )
    return message


async def write_to_seller(
    *, session: AsyncSession, ad_id: int, buyer: User, text: str | None, hourly: int
) -> ContactMessage:
    """A buyer's message about an ad, queued for its seller."""
    cleaned = clean(text)
    ad = await open_ad(session=session, ad_id=ad_id, buyer=buyer)
    await _check_rate(session, buyer, hourly)
    await session.execute(
        upsert_insert(session, ContactThread.__table__)
        .values(ad_id=ad.id, buyer_id=buyer.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["ad_id", "buyer_id"])
    )
    thread = await session.scalar(
        select(ContactThread).where(
            ContactThread.ad_id == ad.id, ContactThread.buyer_id == buyer.id
        )
    )
    assert thread is not None
    seller = await session.get(User, ad.user_id)
    return await _relay(
        session, thread, buyer, cleaned, to_chat=seller.telegram_id if seller else None
    )


async def thread_for(
    *, session: AsyncSession, thread_id: int, user: User
) -> tuple[ContactThread, Ad]:
    """A conversation the user takes part in, with its ad (NotInThreadError otherwise)."""
    thread = await session.get(ContactThread, thread_id)
    ad = await session.get(Ad, thread.ad_id) if thread else None
    if thread is None or ad is None or user.id not in (thread.buyer_id, ad.user_id):
        raise NotInThreadError()
    return thread, ad


async def answer(
    *, session: AsyncSession, thread_id: int, sender: User, text: str | None, hourly: int
) -> ContactMessage:
    """A message in an existing conversation, queued for the other side. The seller may
    always answer; the buyer only while the ad is published."""
    cleaned = clean(text)
    thread, ad = await thread_for(session=session, thread_id=thread_id, user=sender)
    buyer_writes = sender.id == thread.buyer_id
    if buyer_writes and ad.state != AdState.PUBLISHED:
        raise AdNotOpenError(id=ad.id)
    await _check_rate(session, sender, hourly)
    other = await session.get(User, ad.user_id if buyer_writes else thread.buyer_id)
    return await _relay(
        session, thread, sender, cleaned, to_chat=other.telegram_id if other else None
    )
