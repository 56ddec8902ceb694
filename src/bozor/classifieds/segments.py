"""The classifieds' broadcast segment: "advertisers", users with an ad."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from bozor.classifieds.models import Ad
from bozor.featurekit import Segment


def _advertisers(_: Mapping[str, Any]) -> Select[Any]:
    return select(Ad.user_id)  # any ad, whatever became of it


SEGMENTS: dict[str, Segment] = {"advertisers": Segment("advertisers", _advertisers)}
