"""Draws in the Mini App: my accounts, entries and wins (with the claim deadline), each drawn
lottery's results, and "verify it yourself": the page's script (static/verify.js) recomputes
the winners from the published data by the algorithm of `bozor lottery verify`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from bozor.lotteries import accounts, draws, service, wins
from bozor.lotteries.exceptions import LotteryNotDrawnError
from bozor.lotteries.models import LotteryState
from bozor.miniapp.web import HEADERS, SessionDep, ViewerDep, render, view_router
from bozor.settings import Settings

VERIFY_TEXTS = (
    "working", "match", "mismatch", "seed_ok", "seed_bad", "round", "place", "position",
    "winner", "recorded_at", "failed",
)  # fmt: skip


def create_miniapp_router(settings: Settings) -> APIRouter:
    router = view_router("/lotteries")

    @router.get("")
    async def overview(viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
        """My accounts with their entries and wins, and the drawn lotteries."""
        member = await accounts.member_of(session=session, user_id=viewer.user.id)
        mine = (
            await accounts.card_overview(session=session, club_card=member.club_card)
            if member is not None
            else []
        )
        drawn = await service.listing(session=session, state=LotteryState.DRAWN)
        return render(
            viewer,
            "lotteries/overview.html",
            path="/lotteries",
            back="/",
            member=member,
            mine=mine,
            drawn=drawn,
        )

    @router.get("/{lottery_id}")
    async def results(viewer: ViewerDep, session: SessionDep, lottery_id: int) -> HTMLResponse:
        """A drawn lottery's results, its published data and the verification panel."""
        lottery = await service.get(session=session, lottery_id=lottery_id)
        if lottery.state != LotteryState.DRAWN:
            raise LotteryNotDrawnError(lottery_id=lottery_id)
        t = viewer.t
        return render(
            viewer,
            "lotteries/results.html",
            path=f"/lotteries/{lottery_id}",
            back="/lotteries",
            lottery=lottery,
            prizes=await service.prizes(session=session, lottery_id=lottery_id),
            places=await wins.places(session=session, lottery_id=lottery_id),
            module="verify",
            verify_texts={key: t(f"miniapp.lotteries.verify.{key}") for key in VERIFY_TEXTS},
        )

    @router.get("/{lottery_id}/proof")
    async def proof(viewer: ViewerDep, session: SessionDep, lottery_id: int) -> JSONResponse:
        """The published data the browser recomputes the winners from, and where each recorded
        winner stands in the sorted participant list (the list itself holds every member's
        account numbers and is not sent: docs/lotteries.md)."""
        lottery = await service.get(session=session, lottery_id=lottery_id)
        if lottery.state != LotteryState.DRAWN:
            raise LotteryNotDrawnError(lottery_id=lottery_id)
        participants = await draws.participant_list(session=session, lottery_id=lottery_id)
        recorded = await wins.places(session=session, lottery_id=lottery_id, include_redrawn=True)
        body: dict[str, Any] = {
            "seed": lottery.seed,
            "seed_hash": lottery.seed_hash,
            "participants_hash": lottery.participants_hash or "",
            "count": lottery.participants_count or 0,
            "external": lottery.external_value,
            "places": sorted(await service.prizes(session=session, lottery_id=lottery_id)),
            "wins": [
                {
                    "round": place.round,
                    "place": place.place,
                    "number": place.number,
                    "position": participants.index_of(place.number),
                }
                for place in recorded
            ],
        }
        return JSONResponse(body, headers=HEADERS)

    return router
