"""The process's signing secret: API_SECRET, else derived from the bot token.

It signs API tokens and dashboard sessions and keys the encryption and fingerprints of stored
secrets, so it lives below the API and everything that uses it.
"""

from __future__ import annotations

import hashlib
from functools import cache

from bozor.settings import Settings


def signing_secret(settings: Settings) -> str:
    if settings.api_secret is not None:
        return settings.api_secret.get_secret_value()
    return _derived_secret(settings.bot_token.get_secret_value() if settings.bot_token else "")


@cache
def _derived_secret(token: str) -> str:
    return hashlib.sha256(f"bozor-api:{token}".encode()).hexdigest()
