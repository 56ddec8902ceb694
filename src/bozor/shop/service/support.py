"""Support: FAQ entries managed by admins, and questions relayed to admins and answered."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.settings import Settings
from bozor.shop import notify
from bozor.shop.exceptions import BadTextError, FaqNotFoundError, TicketNotFoundError
from bozor.shop.models import FaqEntry, Ticket, TicketMessage, TicketStatus
from bozor.users.models import User

MAX_TEXT = 3000


def _text(value: str, limit: int = MAX_TEXT) -> str:
    value = value.strip()
    if not 1 <= len(value) <= limit or "\x00" in value:
        raise BadTextError(max=limit)
    return value


async def faq(*, session: AsyncSession) -> list[FaqEntry]:
    """FAQ entries in their order."""
    return list(await session.scalars(select(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)))


async def get_faq(*, session: AsyncSession, faq_id: int) -> FaqEntry:
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        raise FaqNotFoundError
    return entry


async def add_faq(
    *, session: AsyncSession, question: str, answer: str, position: int = 0
) -> FaqEntry:
    """A new FAQ entry."""
    entry = FaqEntry(question=_text(question, 200), answer=_text(answer), position=position)
    session.add(entry)
    await session.flush()
    return entry


async def update_faq(
    *,
    session: AsyncSession,
    faq_id: int,
    question: str | None = None,
    answer: str | None = None,
    position: int | None = None,
) -> FaqEntry:
    entry = await get_faq(session=session, faq_id=faq_id)
    if question is not None:
        entry.question = _text(question, 200)
    if answer is not None:
        entry.answer = _text(answer)
    if position is not None:
        entry.position = position
    await session.flush()
    return entry


async def delete_faq(*, session: AsyncSession, faq_id: int) -> None:
    await session.delete(await get_faq(session=session, faq_id=faq_id))
    await session.flush()


async def ask(*, session: AsyncSession, settings: Settings, user: User, text: str) -> TicketMessage:
    """A user's question: added to their open ticket (or a new one) and sent to the admins."""
    body = _text(text)
    ticket = await session.scalar(
        select(Ticket)
        .where(Ticket.user_id == user.id, Ticket.status == TicketStatus.OPEN)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        ticket = Ticket(user_id=user.id, status=TicketStatus.OPEN)
        session.add(ticket)
        await session.flush()
    ticket.updated_at = utcnow()
    message = TicketMessage(
        ticket_id=ticket.id, from_admin=False, author=user.telegram_id, text=body
    )
    session.add(message)
    await session.flush()
    await notify.ticket(session=session, settings=settings, message_id=message.id)
    return message


async def reply(
    *, session: AsyncSession, ticket_id: int, admin_telegram_id: int | None, text: str
) -> TicketMessage:
    """An admin's answer, relayed to the user who asked."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFoundError
    user = await session.get(User, ticket.user_id)
    body = _text(text)
    message = TicketMessage(
        ticket_id=ticket.id, from_admin=True, author=admin_telegram_id, text=body
    )
    session.add(message)
    ticket.status = TicketStatus.ANSWERED
    ticket.updated_at = utcnow()
    await session.flush()
    if user is not None and user.telegram_id is not None:
        await notify.answer(session=session, chat_id=user.telegram_id, message_id=message.id)
    return message


async def tickets(
    *, session: AsyncSession, status: TicketStatus | None = None, limit: int = 50
) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Ticket.status == status)
    return list(await session.scalars(query))


async def messages(*, session: AsyncSession, ticket_id: int) -> list[TicketMessage]:
    if await session.get(Ticket, ticket_id) is None:
        raise TicketNotFoundError
    return list(
        await session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.id)
        )
    )
