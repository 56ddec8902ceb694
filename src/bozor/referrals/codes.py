"""Referral codes: made with each user (bozor.users.codes), read here."""

from __future__ import annotations

from bozor.users.codes import CODE_LENGTH, CODE_RE, looks_like_code, new_referral_code

__all__ = ["CODE_LENGTH", "CODE_RE", "looks_like_code", "new_referral_code"]
