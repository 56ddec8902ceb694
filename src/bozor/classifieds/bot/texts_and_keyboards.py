"""Texts and keyboards shared by the bot handlers and the outbox renderers."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.classifieds.categories import Categories
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.service import REJECT_REASONS
from bozor.classifieds.texts import caption
from bozor.i18n import Translator
from bozor.users.models import User

__all__ = ["REJECT_REASONS"]


def reason_text(t: Translator, reason: str | None) -> str:
    """A stored reason: `@code` for one of the list (translated), else the admin's words."""
    if not reason:
        return "—"
    if reason.startswith("@"):
        return t(f"ads.reason.{reason[1:]}")
    return reason


def who(user: User | None) -> str:
    if user is None:
        return "—"
    parts = [user.full_name]
    if user.username:
        parts.append(f"@{user.username}")
    if user.telegram_id:
        parts.append(f"id {user.telegram_id}")
    return ", ".join(parts)


def finding_lines(t: Translator, findings: list[dict[str, Any]]) -> list[str]:
    """Each pre-screening finding in the reader's language."""
    return [t(str(f["code"]), **dict(f.get("params") or {})) for f in findings]


def findings_text(t: Translator, findings: list[dict[str, Any]]) -> str:
    if not findings:
        return t("ads.findings_none")
    lines = [t("ads.findings_title")] + ["⚠️ " + line for line in finding_lines(t, findings)]
    return "\n".join(lines)


def review_text(t: Translator, ad: Ad, owner: User | None, kinds: Categories) -> str:
    """An ad for an admin to review: in `t`'s language, the ad as the channel will show it."""
    header = t("ads.review_header", id=ad.id, version=ad.version, owner=who(owner))
    shown = caption(Translator(ad.language), ad, kinds)
    return f"{header}\n\n{shown}\n\n{findings_text(t, ad.findings)}"


def decision_line(t: Translator, ad: Ad, version: int) -> str:
    if ad.version != version:
        return t("ads.decided_newer", version=ad.version)
    if ad.state == AdState.REVIEW:
        return ""
    if ad.state == AdState.WITHDRAWN and ad.decided_by is None:
        return t("ads.decided_withdrawn")
    if ad.state == AdState.REJECTED:
        return t(
            "ads.decided_rejected", by=ad.decided_by or "—", reason=reason_text(t, ad.reject_reason)
        )
    return t("ads.decided_approved", by=ad.decided_by or "—")


def refusal(t: Translator, ad: Ad, version: int) -> str:
    """Why a decision on `version` of the ad came too late: who decided first, or what changed."""
    if ad.version != version:
        return t("ads.decided_newer", version=ad.version)
    if ad.state == AdState.WITHDRAWN and ad.decided_by is None:
        return t("ads.decided_withdrawn")
    return t("ads.already_decided", by=ad.decided_by or "—", id=ad.id)


def decided_text(t: Translator, ad: Ad, owner: User | None, version: int, kinds: Categories) -> str:
    header = t("ads.review_header", id=ad.id, version=version, owner=who(owner))
    shown = caption(Translator(ad.language), ad, kinds)
    return f"{header}\n\n{shown}\n\n{decision_line(t, ad, version)}"


def review_keyboard(t: Translator, ad_id: int, version: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("ads.approve"), callback_data=f"ad:ok:{ad_id}:{version}")
    builder.button(text=t("ads.reject"), callback_data=f"ad:no:{ad_id}:{version}")
    builder.adjust(2)
    return builder.as_markup()


def reasons_keyboard(t: Translator, ad_id: int, version: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in REJECT_REASONS:
        builder.button(
            text=t(f"ads.reason.{code}"), callback_data=f"ad:rr:{ad_id}:{version}:{code}"
        )
    builder.button(text=t("ads.reason_other"), callback_data=f"ad:ro:{ad_id}:{version}")
    builder.button(text=t("ads.back"), callback_data=f"ad:bk:{ad_id}:{version}")
    builder.adjust(1)
    return builder.as_markup()


def status_text(t: Translator, ad: Ad, url: str | None) -> str:
    if ad.state == AdState.PUBLISHED and url:
        return t("ads.status.published_link", url=url)
    if ad.state == AdState.REJECTED:
        return t("ads.status.rejected", reason=reason_text(t, ad.reject_reason))
    return t(f"ads.status.{ad.state!s}")
