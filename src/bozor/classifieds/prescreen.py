"""Pre-screening: what admins should know before deciding. Findings inform; nothing is dropped.

Checks: a photo nearly identical to one of another ad (dHash within a few bits), text nearly
the same as another ad's, banned words, a price outside the category's usual range, and more
ads from the same user in a day than CLASSIFIEDS_DAILY_LIMIT.
"""

from __future__ import annotations

import re
from datetime import timedelta
from difflib import SequenceMatcher

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories
from bozor.classifieds.models import Ad, AdPhoto
from bozor.classifieds.schemas import AdDraft, Finding
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.db import utcnow
from bozor.media.imagehash import distance
from bozor.settings import Settings

PHOTO_BITS = 6  # of 64: resized, recompressed or lightly cropped copies stay within this
TEXT_RATIO = 0.85
TEXT_WINDOW = 2000  # the latest ads compared for text
USD_IN_UZS = 12_500  # rough rate for range checks of prices given in dollars


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _unsigned(value: int) -> int:
    return value & (2**64 - 1)


async def screen(
    *, session: AsyncSession, settings: Settings, draft: AdDraft, user_id: int, ad_id: int | None
) -> list[Finding]:
    """The findings for an ad being submitted (`ad_id` when it is a resubmission)."""
    findings: list[Finding] = []
    others = Ad.id != ad_id if ad_id is not None else Ad.id.is_not(None)

    hashes = [_unsigned(p.dhash) for p in draft.photos if p.dhash is not None]
    if hashes:
        rows = await session.execute(
            select(AdPhoto.ad_id, AdPhoto.dhash)
            .join(Ad, Ad.id == AdPhoto.ad_id)
            .where(AdPhoto.dhash.is_not(None), others)
        )
        similar = sorted(
            {
                other
                for other, stored in rows
                if stored is not None
                and any(distance(h, _unsigned(stored)) <= PHOTO_BITS for h in hashes)
            }
        )
        if similar:
            findings.append(Finding(code="ads.finding.photo", params={"ids": _ids(similar)}))

    mine = _normal(f"{draft.title} {draft.description}")
    recent = await session.execute(
        select(Ad.id, Ad.title, Ad.description)
        .where(others)
        .order_by(Ad.id.desc())
        .limit(TEXT_WINDOW)
    )
    same_text = []
    for other_id, title, description in recent:
        matcher = SequenceMatcher(None, mine, _normal(f"{title} {description}"), autojunk=False)
        if (
            matcher.real_quick_ratio() >= TEXT_RATIO
            and matcher.quick_ratio() >= TEXT_RATIO
            and matcher.ratio() >= TEXT_RATIO
        ):
            same_text.append(other_id)
    if same_text:
        findings.append(Finding(code="ads.finding.text", params={"ids": _ids(sorted(same_text))}))

    words = _banned(
        ClassifiedsSettings.of(settings).banned_words, f"{draft.title} {draft.description}"
    )
    if words:
        findings.append(Finding(code="ads.finding.words", params={"words": ", ".join(words)}))

    if draft.price is not None:
        usual = categories.of(settings).get(draft.category)
        in_uzs = draft.price * (USD_IN_UZS if draft.currency == "USD" else 1)
        has_range = usual is not None and (usual.usual_min or usual.usual_max)
        if (
            has_range
            and usual is not None
            and (in_uzs < usual.usual_min or (usual.usual_max and in_uzs > usual.usual_max))
        ):
            findings.append(
                Finding(
                    code="ads.finding.price",
                    params={"low": f"{usual.usual_min:,}", "high": f"{usual.usual_max:,}"},
                )
            )

    today = await session.scalar(
        select(func.count()).where(
            Ad.user_id == user_id, Ad.submitted_at >= utcnow() - timedelta(days=1), others
        )
    )
    if (today or 0) + 1 > ClassifiedsSettings.of(settings).daily_limit:
        findings.append(Finding(code="ads.finding.many", params={"count": (today or 0) + 1}))
    return findings


def _banned(words: list[str], text: str) -> list[str]:
    lowered = text.lower()
    return [
        word
        for word in words
        if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered) is not None
    ]


def _ids(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:5])
    return shown + (f" (+{len(ids) - 5})" if len(ids) > 5 else "")
