"""What the admin API reads and writes about broadcasts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bozor.broadcasts.models import BroadcastState
from bozor.schema_types import UTCDatetime


class ButtonIn(BaseModel):
    text: str = Field(min_length=1, max_length=64, examples=["Open the shop"])
    url: str = Field(max_length=2048, examples=["https://example.com/shop"])


class AudienceIn(BaseModel):
    segment: str = Field(
        examples=["all"], description="A segment name from GET /api/v1/admin/broadcast-segments."
    )
    params: dict[str, str] = Field(
        default_factory=dict, examples=[{}], description='e.g. {"language": "ru"}'
    )


class BroadcastCreate(AudienceIn):
    text: str = Field(
        default="",
        max_length=20_000,
        description="Telegram HTML (<b>, <i>, <a href>...); the caption when there is a photo.",
        examples=["<b>Sale!</b> 20% off this week."],
    )
    photo: str | None = Field(
        default=None, max_length=512, description="A Telegram file_id or an https URL."
    )
    buttons: list[list[ButtonIn]] = Field(
        default_factory=list, description="Rows of URL buttons under the message."
    )
    scheduled_at: UTCDatetime | None = Field(
        default=None, description="When to send (with a time zone); now when absent."
    )


class PreviewRead(BaseModel):
    segment: str
    params: dict[str, str]
    recipients: int = Field(description="Users it would reach now (blocked users left out).")


class ProgressRead(BaseModel):
    total: int
    pending: int
    sending: int
    sent: int
    blocked: int
    failed: int
    unknown: int = Field(description="In flight when a sender died: maybe delivered, not resent.")
    cancelled: int


class BroadcastRead(BaseModel):
    id: int
    state: BroadcastState
    text: str
    photo: str | None
    buttons: list[list[ButtonIn]]
    segment: str
    params: dict[str, str]
    source: str
    created_at: datetime
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressRead


class SegmentRead(BaseModel):
    name: str
    params: dict[str, list[str]] = Field(description="Each parameter and its allowed values.")
