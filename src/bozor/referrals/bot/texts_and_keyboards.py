"""The referral bot's texts and keyboards: the QR code, the channel title, the check button."""

from __future__ import annotations

import io

import segno
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.i18n import Translator
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings

CHECK_SUBSCRIPTION = "ref:check"


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def channel_title(settings: Settings) -> str:
    channel = ReferralSettings.of(settings).required_channel or ""
    return (
        channel
        if channel.startswith("@")
        else (ReferralSettings.of(settings).channel_url or channel)
    )


def subscription_keyboard(t: Translator, settings: Settings) -> InlineKeyboardMarkup:
    channel = ReferralSettings.of(settings).required_channel or ""
    url = ReferralSettings.of(settings).channel_url or (
        f"https://t.me/{channel.removeprefix('@')}" if channel.startswith("@") else None
    )
    builder = InlineKeyboardBuilder()
    if url:
        builder.button(text=t("referral.open_channel"), url=url)
    builder.button(text=t("referral.check_subscription"), callback_data=CHECK_SUBSCRIPTION)
    builder.adjust(1)
    return builder.as_markup()
