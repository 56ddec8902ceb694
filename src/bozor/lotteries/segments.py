"""The lotteries' broadcast segment: "lottery_participants", members of the draws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from bozor.featurekit import Segment
from bozor.lotteries.models import Member


def _lottery_participants(_: Mapping[str, Any]) -> Select[Any]:
    return select(Member.user_id)


SEGMENTS: dict[str, Segment] = {
    "lottery_participants": Segment("lottery_participants", _lottery_participants)
}
