"""Secrets stored in the database (webhook signing secrets, later card codes), encrypted with
Fernet. ENCRYPTION_KEYS lists keys, newest first: the first encrypts, every one decrypts, so a
key is rotated by putting a new one in front and re-encrypting at leisure."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bozor.settings import Settings
from bozor.signing import signing_secret

__all__ = ["InvalidToken", "decrypt", "encrypt", "new_key", "newest_only"]


def new_key() -> str:
    """A fresh key for ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()


@cache
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys(settings: Settings) -> tuple[str, ...]:
    if settings.encryption_keys is not None:
        return tuple(
            key.strip()
            for key in settings.encryption_keys.get_secret_value().split(",")
            if key.strip()
        )
    # Derived from the API secret (itself derived from the bot token by default), so a demo
    # or a small install works without one more setting.
    digest = hashlib.sha256(f"bozor-encryption:{signing_secret(settings)}".encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def newest_only(settings: Settings) -> Fernet:
    """The encrypting key alone: what it opens needs no re-encryption after a rotation."""
    return Fernet(_keys(settings)[0].encode())


def encrypt(settings: Settings, plaintext: str) -> str:
    return _box(_keys(settings)).encrypt(plaintext.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    """The plaintext; raises InvalidToken if no configured key opens it."""
    return _box(_keys(settings)).decrypt(token.encode()).decode()
