"""Users: stored on first contact and kept up to date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, bindparam, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import InsertReturning, utcnow
from bozor.errors import InvalidInputError
from bozor.i18n import LANGUAGES, pick_language
from bozor.users.codes import new_referral_code
from bozor.users.models import User

# last_seen_at is refreshed at most this often, so reading users does not write on every update
SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    """What Telegram tells us about a user on every update."""

    telegram_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


# Built once: constructing a statement costs more than running it on the hot path.
_BY_TELEGRAM_ID = select(User).where(User.telegram_id == bindparam("telegram_id"))
_BY_EXTERNAL_ID = select(User).where(User.external_id == bindparam("external_id"))
_INSERT_NEW = InsertReturning(User, lambda insert, table: insert(table).on_conflict_do_nothing())


async def get_by_telegram_id(*, session: AsyncSession, telegram_id: int) -> User | None:
    """The user with this Telegram id, if known."""
    return await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


async def get_by_id(*, session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, if any."""
    return await session.get(User, user_id)


async def upsert_from_telegram(
    *,
    session: AsyncSession,
    profile: TelegramProfile,
    wrote: bool = True,
    probably_new: bool = False,
) -> tuple[User, bool]:
    """Store the user on first contact, refresh name/username/language after; (user, created).

    Safe under concurrent first updates from the same user: the insert ignores a conflict and
    the loser reads the winner's row. `wrote` is False for updates that are not the user
    talking to the bot (such as blocking it). `probably_new` (someone arriving through a deep
    link) tries the insert first, saving the look-up in the common case.
    """
    if not probably_new:
        user = await get_by_telegram_id(session=session, telegram_id=profile.telegram_id)
        if user is not None:
            _refresh(user, profile, wrote=wrote)
            return user, False
    for _ in range(3):  # a referral-code collision is astronomically rare; retry anyway
        created = await _insert_new(
            session,
            telegram_id=profile.telegram_id,
            first_name=profile.first_name,
            last_name=profile.last_name,
            username=profile.username,
            telegram_language=profile.language_code,
        )
        if created is not None:
            return created, True
        # Known already, or lost a race with a concurrent first update from the same user.
        user = await get_by_telegram_id(session=session, telegram_id=profile.telegram_id)
        if user is not None:
            _refresh(user, profile, wrote=wrote)
            return user, False
    raise RuntimeError("could not store the user")  # pragma: no cover


def new_user_values(**fields: object) -> dict[str, object]:
    """The row of a new user: a fresh referral code, not blocked or banned, the times now, and
    `fields` (telegram_id, first_name, …)."""
    now = utcnow()
    return {
        "referral_code": new_referral_code(),
        "is_blocked": False,
        "is_banned": False,
        "created_at": now,
        "updated_at": now,
        "last_seen_at": now,
        **fields,
    }


async def _insert_new(session: AsyncSession, **fields: object) -> User | None:
    """Insert a user with a fresh referral code; None if a unique value was taken already
    (the person exists, or, astronomically rarely, the code)."""
    return await _INSERT_NEW(session, new_user_values(**fields))


def _refresh(user: User, profile: TelegramProfile, *, wrote: bool) -> None:
    now = utcnow()
    changed = False
    for field, value in (
        ("first_name", profile.first_name),
        ("last_name", profile.last_name),
        ("username", profile.username),
        ("telegram_language", profile.language_code),
    ):
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed = True
    if wrote and user.is_blocked:  # writing to the bot means it is not blocked any more
        set_blocked(user, blocked=False)
        changed = True
    if changed:
        user.updated_at = now
    if changed or now - user.last_seen_at > SEEN_RESOLUTION:
        user.last_seen_at = now


async def get_or_create_external(
    *, session: AsyncSession, external_id: str, probably_new: bool = False
) -> tuple[User, bool]:
    """An integrator's user, known by the integrator's own id; (user, created).
    `probably_new` (a sign-up) tries the insert first, saving the look-up in the common case."""
    if not probably_new:
        user = await session.scalar(_BY_EXTERNAL_ID, {"external_id": external_id})
        if user is not None:
            return user, False
    created = await _insert_new(session, external_id=external_id, first_name="")
    if created is not None:
        return created, True
    user = await session.scalar(_BY_EXTERNAL_ID, {"external_id": external_id})
    if user is None:  # pragma: no cover - only a referral-code collision gets here
        raise RuntimeError("could not store the user")
    return user, False


async def find_by_api_id(*, session: AsyncSession, api_id: str) -> User | None:
    """A user by the id the API uses: the integrator's own id, or `tg:<telegram id>`."""
    if "\x00" in api_id:  # PostgreSQL text cannot hold it, so no user has it
        return None
    if api_id.startswith("tg:"):
        number = api_id.removeprefix("tg:")
        # a 64-bit number in ASCII digits ("²" is a digit to isdigit, but not to int)
        if not (number.isascii() and number.isdigit()) or len(number) > 19 or int(number) >= 2**63:
            return None
        return await get_by_telegram_id(session=session, telegram_id=int(number))
    return await session.scalar(select(User).where(User.external_id == api_id))


def api_id_of(user: User) -> str:
    """The id the API shows for a user."""
    return user.external_id or f"tg:{user.telegram_id}"


def set_blocked(user: User, *, blocked: bool) -> None:
    """Record that the user blocked (or unblocked) the bot."""
    if user.is_blocked != blocked:
        user.is_blocked = blocked
        user.blocked_at = utcnow() if blocked else None


async def mark_blocked(*, session: AsyncSession, telegram_id: int) -> None:
    """Record that the user blocked the bot (Telegram answered 403)."""
    await session.execute(
        update(User)
        .where(User.telegram_id == telegram_id, User.is_blocked.is_(False))
        .values(is_blocked=True, blocked_at=utcnow())
    )


async def set_language(*, session: AsyncSession, user: User, language: str) -> None:
    """Remember the language the user chose."""
    if language not in LANGUAGES:
        raise InvalidInputError("error.invalid_language")
    user.language = language
    user.updated_at = utcnow()
    await session.flush()


def language_of(user: User | None, default: str = "en") -> str:
    """The user's language: chosen, else Telegram's, else the default."""
    if user is None:
        return default
    return pick_language(user.language, user.telegram_language, default)


async def search(
    *, session: AsyncSession, query: str = "", limit: int | None = 50, offset: int = 0
) -> tuple[list[User], int]:
    """Users whose name, username, Telegram id or integrator id matches `query` (all when
    empty), newest first; (this page, how many match)."""
    condition = _search_condition(query.strip())
    total = await session.scalar(select(func.count()).select_from(User).where(condition))
    statement = select(User).where(condition).order_by(User.id.desc()).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return list(await session.scalars(statement)), int(total or 0)


def _search_condition(query: str) -> ColumnElement[bool]:
    if not query:
        return true()
    needle = query.lower().removeprefix("@")
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    fields: list[ColumnElement[bool]] = [
        func.lower(User.first_name).like(pattern, escape="\\"),
        func.lower(func.coalesce(User.last_name, "")).like(pattern, escape="\\"),
        func.lower(func.coalesce(User.username, "")).like(pattern, escape="\\"),
        func.lower(func.coalesce(User.external_id, "")).like(pattern, escape="\\"),
    ]
    digits = query.removeprefix("tg:")
    if digits.isdigit() and len(digits) <= 19:
        fields.append(User.telegram_id == int(digits))
    return or_(*fields)


async def display_names(*, session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """How to show each of these users to an admin: name and @username, else their ids."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.first_name, User.last_name, User.username, User.external_id).where(
            User.id.in_(ids)
        )
    )
    shown: dict[int, str] = {}
    for user_id, first, last, username, external in rows.all():
        name = " ".join(part for part in (first, last) if part) or external or f"#{user_id}"
        shown[user_id] = f"{name} (@{username})" if username else name
    return shown
