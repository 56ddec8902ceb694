"""The dashboard's sections: each feature contributes its pages here.

A section is a router mounted under /dashboard (its paths start with `/<name>`), a navigation
entry, and optionally figures for the overview page. It is shown only when its feature is
switched on. To add one (shop, classifieds...): write `bozor/<feature>/dashboard.py` with a
`SECTION = Section(...)`, templates under `dashboard/templates/<feature>/`, its texts in
`i18n/web.<language>.toml`, and add it to `all_sections()` below. See docs/dashboard.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.settings import Settings

# Figures for the overview page: (translation key of the label, value, link or None).
Figure = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # /dashboard/<name>
    nav_key: str | None  # translation key of its navigation entry; None: not in the menu
    router: Callable[[], APIRouter]  # built once per app
    feature: str | None = None  # shown only when this feature is on; None: always
    figures: Callable[[AsyncSession], Awaitable[list[Figure]]] | None = None


def all_sections() -> list[Section]:
    from bozor.audit import dashboard as audit
    from bozor.broadcasts import dashboard as broadcasts
    from bozor.classifieds import dashboard as ads
    from bozor.lotteries import dashboard as lotteries
    from bozor.referrals import dashboard as referrals
    from bozor.shop import dashboard as shop
    from bozor.users import dashboard as users
    from bozor.webhooks import dashboard as webhooks

    return [
        referrals.SECTION,
        lotteries.SECTION,
        shop.SECTION,
        ads.SECTION,
        broadcasts.SECTION,
        users.SECTION,
        webhooks.SECTION,
        audit.SECTION,
    ]


def sections(settings: Settings) -> list[Section]:
    """The sections of the features switched on, in menu order."""
    return [s for s in all_sections() if s.feature is None or s.feature in settings.features]
