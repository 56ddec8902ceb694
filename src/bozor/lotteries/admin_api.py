"""Admin routes of the prize draws: fairness verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from bozor.api.auth import AdminDep, SessionDep
from bozor.api.problems import responses
from bozor.lotteries import draws, service
from bozor.lotteries.schemas import VerificationRead, WinnerCheck

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin: lotteries"], responses=responses(401, 403, 429)
)
LotteryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/lotteries/{lottery_id}/verification", responses=responses(404, 409))
async def get_verification(
    lottery_id: LotteryId, session: SessionDep, _: AdminDep
) -> VerificationRead:
    """Recompute a drawn lottery's winners from its published data (seed, participant list,
    external value) and compare them, and the published hashes, with what was recorded.
    409 while the lottery is not drawn. For admins: the participant list is not public."""
    report = await draws.verify(session=session, lottery_id=lottery_id)
    lottery = await service.get(session=session, lottery_id=lottery_id)
    keys = sorted(report.expected.keys() | report.recorded.keys())
    return VerificationRead(
        lottery_id=lottery.id,
        ok=report.ok,
        seed=lottery.seed,
        seed_hash=lottery.seed_hash,
        seed_hash_ok=report.seed_hash_ok,
        external_name=lottery.external_name,
        external_value=lottery.external_value,
        participants_count=lottery.participants_count,
        participants_hash=lottery.participants_hash,
        participants_hash_recomputed=report.participants_hash,
        participants_hash_ok=report.participants_hash_ok,
        winners_ok=report.winners_ok,
        winners=[
            WinnerCheck(
                round=round_,
                place=place,
                recorded=report.recorded.get((round_, place)),
                recomputed=report.expected.get((round_, place)),
                matches=report.recorded.get((round_, place))
                == report.expected.get((round_, place)),
            )
            for round_, place in keys
        ],
        problems=report.problems + report.differences(),
    )
