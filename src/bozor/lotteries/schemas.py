"""The lottery admin API's bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
