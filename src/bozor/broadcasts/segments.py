"""Segments: named sets of recipients. Each is a query for user ids; features add their own.

A feature contributes segments through `Feature.segments` (bozor.featurekit): a mapping of
name to `Segment`, e.g. the shop's "buyers" (users with a paid order) in shop/segments.py.
Only the segments of enabled features are offered. Blocked, banned and API-only users are never
recipients, whatever the segment says (see `recipients`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.errors import InvalidInputError
from bozor.featurekit import Segment as Segment
from bozor.featurekit import SegmentQuery as SegmentQuery
from bozor.i18n import LANGUAGES, Translator
from bozor.users.models import User


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


CORE_SEGMENTS: dict[str, Segment] = {
    "all": Segment("all", _all),
    "language": Segment("language", _language, {"language": LANGUAGES}),
}


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
