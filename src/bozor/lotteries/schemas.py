"""The lottery admin API's bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bozor.lotteries.models import LotteryState, WinStatus


class WinnerCheck(BaseModel):
    round: int = Field(description="0 is the draw, 1, 2 … the redraws.")
    place: int
    recorded: str | None = Field(description="The account recorded as the winner.")
    recomputed: str | None = Field(description="The account the published data gives.")
    matches: bool


class VerificationRead(BaseModel):
    """The published fairness data of a drawn lottery and the winners recomputed from it."""

    lottery_id: int
    ok: bool
    seed: str = Field(description="Revealed at the draw.")
    seed_hash: str = Field(description="sha256(seed), published when the lottery was created.")
    seed_hash_ok: bool
    external_name: str | None = Field(description="The public randomness value named in advance.")
    external_value: str | None
    participants_count: int | None
    participants_hash: str | None = Field(description="Published at the draw.")
    participants_hash_recomputed: str = Field(description="From the frozen participant list.")
    participants_hash_ok: bool
    winners_ok: bool
    winners: list[WinnerCheck]
    problems: list[str]


class LotteryRead(BaseModel):
    id: int
    title: str
    state: LotteryState = Field(description="open: accounts can join; drawn: winners picked.")
    created_at: datetime
    draw_at: datetime | None = Field(description="When the job draws it, if scheduled.")
    drawn_at: datetime | None
    seed_hash: str
    external_name: str | None
    participants: int = Field(description="Participating accounts.")


class PlaceRead(BaseModel):
    place: int
    prize: str


class WinnerRead(BaseModel):
    win_id: int
    place: int
    round: int = Field(description="0 is the draw, 1, 2 … the redraws.")
    account: str
    club_card: str | None
    status: WinStatus = Field(description="A pending win past its deadline shows as expired.")
    deadline_at: datetime
    owner_telegram_id: int | None


class FairnessRead(BaseModel):
    seed_hash: str
    seed: str | None = Field(description="Revealed once the lottery is drawn.")
    external_name: str | None
    external_value: str | None
    participants_count: int | None
    participants_hash: str | None


class LotteryDetail(LotteryRead):
    places: list[PlaceRead]
    winners: list[WinnerRead] = Field(description="Every win, redrawn ones included.")
    fairness: FairnessRead


class AuditRead(BaseModel):
    id: int
    created_at: datetime
    action: str
    actor: int | None = Field(description="Telegram id of who did it; null: the system.")
    lottery_id: int | None
    win_id: int | None
    detail: dict[str, Any]


class ReportRead(BaseModel):
    report: str
    columns: list[str]
    rows: list[list[str | int | None]]
