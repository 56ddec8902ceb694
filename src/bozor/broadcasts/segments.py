"""Segments: named sets of recipients. Each is a query for user ids; features add their own.

A feature contributes segments through `Feature.segments` (see bozor.features): a mapping of
name to `Segment`. The shop adds "buyers" (users with a paid order), classifieds adds
"advertisers" (users with an ad), the same way lotteries adds "lottery_participants". Only the
segments of enabled features are offered. Blocked, banned and API-only users are never
recipients, whatever the segment says (see `recipients`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.errors import InvalidInputError
from bozor.i18n import LANGUAGES, Translator
from bozor.users.models import User

# Given the segment's parameters, a SELECT of users.id (it may return an id twice).
SegmentQuery = Callable[[Mapping[str, Any]], Select[Any]]


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    query: SegmentQuery
    # Parameter name → allowed values (checked before the query runs); empty: no parameters.
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _all(_: Mapping[str, Any]) -> Select[Any]:
    return select(User.id)


def _effective_language(default: str) -> Any:
    """The user's language in SQL, as `users.service.language_of` picks it."""
    telegram = func.lower(func.substr(func.coalesce(User.telegram_language, ""), 1, 2))
    return case(
        (User.language.in_(LANGUAGES), User.language),
        (telegram.in_(LANGUAGES), telegram),
        else_=default,
    )


def _language(params: Mapping[str, Any]) -> Select[Any]:
    default = str(params.get("default", "en"))
    return select(User.id).where(_effective_language(default) == str(params["language"]))


def _referrers(_: Mapping[str, Any]) -> Select[Any]:
    from bozor.referrals.models import Referral, ReferralStatus

    confirmed = exists().where(
        and_(Referral.referrer_id == User.id, Referral.status == ReferralStatus.CONFIRMED)
    )
    return select(User.id).where(confirmed)


def _lottery_participants(_: Mapping[str, Any]) -> Select[Any]:
    from bozor.lotteries.models import Member

    return select(Member.user_id)


def _buyers(_: Mapping[str, Any]) -> Select[Any]:
    from bozor.shop.models import Order, OrderStatus

    return select(Order.user_id).where(Order.status == OrderStatus.DELIVERED)


def _advertisers(_: Mapping[str, Any]) -> Select[Any]:
    from bozor.classifieds.models import Ad

    return select(Ad.user_id)  # any ad, whatever became of it


CORE_SEGMENTS: dict[str, Segment] = {
    "all": Segment("all", _all),
    "language": Segment("language", _language, {"language": LANGUAGES}),
}
REFERRAL_SEGMENTS: dict[str, Segment] = {"referrers": Segment("referrers", _referrers)}
LOTTERY_SEGMENTS: dict[str, Segment] = {
    "lottery_participants": Segment("lottery_participants", _lottery_participants)
}

SHOP_SEGMENTS: dict[str, Segment] = {"buyers": Segment("buyers", _buyers)}
CLASSIFIEDS_SEGMENTS: dict[str, Segment] = {"advertisers": Segment("advertisers", _advertisers)}


def available(features: Mapping[str, Mapping[str, Segment]]) -> dict[str, Segment]:
    """The core segments and those of the given features (name → its segments)."""
    segments = dict(CORE_SEGMENTS)
    for contributed in features.values():
        segments.update(contributed)
    return segments


def check(segments: Mapping[str, Segment], name: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The segment's parameters, validated; InvalidInputError names what is wrong."""
    segment = segments.get(name)
    if segment is None:
        raise InvalidInputError(
            "broadcast.unknown_segment", segment=name, known=", ".join(sorted(segments))
        )
    checked: dict[str, str] = {}
    for key, allowed in segment.params.items():
        value = str(params.get(key, ""))
        if value not in allowed:
            raise InvalidInputError(
                "broadcast.bad_segment_param", param=key, allowed=", ".join(allowed)
            )
        checked[key] = value
    return checked


def choices(segments: Mapping[str, Segment]) -> list[tuple[str, dict[str, str]]]:
    """(segment, params) an admin can pick: every segment, `language` once per language."""
    found: list[tuple[str, dict[str, str]]] = []
    for name, segment in segments.items():
        if name == "language":
            found += [(name, {"language": language}) for language in LANGUAGES]
        elif not segment.params:
            found.append((name, {}))
    return found


def label(t: Translator, name: str, params: Mapping[str, Any]) -> str:
    """A segment as admins read it: "language: ru", "customers of the shop"."""
    if name == "language":
        return t("broadcast.segment.language", language=params.get("language", "?"))
    return t(f"broadcast.segment.{name}")


def recipients(query: Select[Any]) -> Select[int, int | None]:
    """(user id, chat id) of the users in the segment who can receive a message."""
    return select(User.id, User.telegram_id).where(
        User.id.in_(query),
        User.telegram_id.is_not(None),
        User.is_blocked.is_(False),
        User.is_banned.is_(False),
    )


async def count(*, session: AsyncSession, query: Select[Any]) -> int:
    """How many users would receive a broadcast to this segment now."""
    total = await session.scalar(select(func.count()).select_from(recipients(query).subquery()))
    return int(total or 0)
