"""The shop's broadcast segment: "buyers", users with a delivered order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from bozor.featurekit import Segment
from bozor.shop.models import Order, OrderStatus


def _buyers(_: Mapping[str, Any]) -> Select[Any]:
    return select(Order.user_id).where(Order.status == OrderStatus.DELIVERED)


SEGMENTS: dict[str, Segment] = {"buyers": Segment("buyers", _buyers)}
