"""Users' referral codes (a column of `users`): short, unique, unguessable, and valid as a
Telegram deep-link payload. The referrals feature reads them (bozor.referrals.codes).

Codes use only letters and digits, so other deep-link payloads (which contain `_`) never
look like a referral code.
"""

from __future__ import annotations

import re
import secrets
import string

CODE_LENGTH = 10  # 62**10 ≈ 8·10^17 codes: guessing one is hopeless
CODE_RE = re.compile(r"^[A-Za-z0-9]{6,32}$")
_ALPHABET = string.ascii_letters + string.digits


def new_referral_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(payload: str) -> bool:
    return bool(CODE_RE.match(payload))
