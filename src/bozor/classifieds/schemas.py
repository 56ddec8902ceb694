"""What the classifieds rules take and return, free of Telegram and HTTP types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from bozor.classifieds.models import AdState

TITLE_MAX = 100
DESCRIPTION_MAX = 600  # the whole caption must fit Telegram's 1,024 characters
REGION_MAX = 64
MAX_PHOTOS = 10


class PhotoIn(BaseModel):
    file_id: str
    file_unique_id: str | None = None
    storage_key: str | None = None
    dhash: int | None = None


class AdDraft(BaseModel):
    """A complete ad as the dialogue (or a caller) gathered it."""

    category: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=3, max_length=TITLE_MAX)
    description: str = Field(min_length=10, max_length=DESCRIPTION_MAX)
    price: int | None = Field(default=None, gt=0, le=10**15)  # None: negotiable; 0 refused
    currency: str | None = Field(default=None, pattern=r"^(UZS|USD)$")
    contact_phone: str | None = Field(default=None, max_length=20)
    contact_username: str | None = Field(default=None, max_length=64)
    region: str = Field(min_length=2, max_length=REGION_MAX)
    photos: list[PhotoIn] = Field(default_factory=list, max_length=MAX_PHOTOS)


class Finding(BaseModel):
    """One pre-screening result shown to the admins (a translation key and its values)."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)


class PhotoRead(BaseModel):
    position: int
    file_id: str
    storage_key: str | None


class PostRead(BaseModel):
    kind: str
    url: str
    created_at: datetime
    stamp: str | None


class DecisionRead(BaseModel):
    version: int
    approved: bool
    reason: str | None
    admin_name: str
    created_at: datetime


class AdRead(BaseModel):
    id: int
    state: AdState
    version: int
    owner_telegram_id: int | None
    owner_name: str
    category: str
    title: str
    description: str
    price: int | None
    currency: str | None
    contact_phone: str | None
    contact_username: str | None
    region: str
    submitted_at: datetime
    published_at: datetime | None
    closed_at: datetime | None
    reject_reason: str | None
    decided_by: str | None
    repost_count: int
    findings: list[Finding]
    photos: int


class AdDetail(AdRead):
    photo_list: list[PhotoRead]
    posts: list[PostRead]
    decisions: list[DecisionRead]


class RejectBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500)
    version: StrictInt | None = Field(
        default=None, ge=1, description="Refuse if the ad changed since."
    )


class ApproveBody(BaseModel):
    version: StrictInt | None = Field(
        default=None, ge=1, description="Refuse if the ad changed since."
    )


class BanBody(BaseModel):
    telegram_id: StrictInt = Field(ge=1, le=2**63 - 1)
    reason: str | None = Field(default=None, max_length=500)


class BanRead(BaseModel):
    telegram_id: int | None
    reason: str | None
    banned_by: str
    created_at: datetime
