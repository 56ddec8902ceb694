from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StrictBool

from bozor.schema_types import NO_NUL
from bozor.webhooks.models import DeliveryStatus

EventName = Literal[
    "referral.created",
    "referral.confirmed",
    "referral.rejected",
    "reward.granted",
    "reward.claimed",
    "*",
]


class SubscriptionCreate(BaseModel):
    url: AnyHttpUrl = Field(examples=["https://example.com/bozor/webhooks"])
    events: list[EventName] = Field(
        min_length=1, max_length=10, examples=[["referral.created", "reward.claimed"]]
    )
    description: str | None = Field(default=None, max_length=200, pattern=NO_NUL)


class SubscriptionUpdate(BaseModel):
    url: AnyHttpUrl | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=10)
    description: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    active: StrictBool | None = None


class SubscriptionRead(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(
        description="Signs every delivery (X-Bozor-Signature). Shown only now: keep it.",
        examples=["whsec_3q2-7wQyE0mXo..."],
    )


class AttemptRead(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: int
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    due_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[AttemptRead]
