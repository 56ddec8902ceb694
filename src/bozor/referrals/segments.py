"""The referrals' broadcast segment: "referrers", users with a confirmed referral."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, select

from bozor.featurekit import Segment
from bozor.referrals.models import Referral, ReferralStatus
from bozor.users.models import User


def _referrers(_: Mapping[str, Any]) -> Select[Any]:
    confirmed = exists().where(
        and_(Referral.referrer_id == User.id, Referral.status == ReferralStatus.CONFIRMED)
    )
    return select(User.id).where(confirmed)


SEGMENTS: dict[str, Segment] = {"referrers": Segment("referrers", _referrers)}
