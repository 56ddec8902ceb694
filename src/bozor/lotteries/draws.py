"""Drawing winners, redrawing expired places, and re-checking a draw from published data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import serialize, utcnow
from bozor.lotteries import audit, fairness, wins
from bozor.lotteries.exceptions import (
    ExternalValueMissingError,
    LotteryDrawnError,
    LotteryNotDrawnError,
    NoOneLeftToRedrawError,
    NoParticipantsError,
    NothingToRedrawError,
)
from bozor.lotteries.models import Account, Lottery, LotteryState, Participation, Prize, Win
from bozor.lotteries.service import get

STREAM_BATCH = 50_000


_PARTICIPANTS_SQL = (
    "SELECT a.number FROM lottery_accounts a"
    " JOIN lottery_participations p ON p.account_id = a.id"
    " WHERE p.lottery_id = {param} ORDER BY a.number{collate}"
)


async def participant_list(*, session: AsyncSession, lottery_id: int) -> fairness.ParticipantList:
    """The lottery's participating account numbers, sorted bytewise (the order the published
    hash is defined on), read into a compact list in the session's transaction.

    Read through the driver, not SQLAlchemy, whose row processing costs more than the rest of a
    draw of a million accounts (docs/benchmarks.md). PostgreSQL sends the hashed form itself
    (COPY's text output is one "number\\n" line per row); SQLite rows come by cursor."""
    participants = fairness.ParticipantList()
    connection = await session.connection()
    await connection.execute(select(1))  # the driver's transaction has begun
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":

        async def take(data: bytes) -> None:
            participants.extend_lines(data)

        query = _PARTICIPANTS_SQL.format(param="$1", collate=' COLLATE "C"')
        await driver.copy_from_query(query, lottery_id, output=take)
        participants.finish_lines()
        return participants
    cursor = await driver.execute(_PARTICIPANTS_SQL.format(param="?", collate=""), (lottery_id,))
    try:
        while rows := await cursor.fetchmany(STREAM_BATCH):
            participants.extend(row[0] for row in rows)
    finally:
        await cursor.close()
    return participants


@dataclass(frozen=True, slots=True)
class DrawResult:
    lottery: Lottery
    round: int
    wins: list[Win]
    unfilled: list[int] = field(default_factory=list)  # redrawn places nobody was left for


async def draw(
    *,
    session: AsyncSession,
    lottery_id: int,
    external_value: str | None = None,
    actor: int | None = None,
    claim_hours: float = 24,
) -> DrawResult:
    """Freeze the participant list, pick the winners, reveal the seed. Once per lottery: the
    state change is a conditional UPDATE, so concurrent draws (two admins, the job on two
    instances) draw once and the others get LotteryDrawnError."""
    lottery = await get(session=session, lottery_id=lottery_id)
    if lottery.external_name and not (external_value or lottery.external_value):
        raise ExternalValueMissingError(lottery_id=lottery_id, name=lottery.external_name)
    if external_value is not None and (not external_value.strip() or len(external_value) > 200):
        raise ExternalValueMissingError(lottery_id=lottery_id, name=lottery.external_name or "")
    now = utcnow()
    claimed = await session.execute(
        update(Lottery)
        .where(Lottery.id == lottery_id, Lottery.state == LotteryState.OPEN)
        .values(state=LotteryState.DRAWN, drawn_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LotteryDrawnError(lottery_id=lottery_id)
    # Removed accounts leave the draw now; after it the list never changes.
    await session.execute(
        delete(Participation)
        .where(
            Participation.lottery_id == lottery_id,
            Participation.account_id.in_(select(Account.id).where(Account.is_active.is_(False))),
        )
        .execution_options(synchronize_session=False)
    )
    participants = await participant_list(session=session, lottery_id=lottery_id)
    if not participants:
        raise NoParticipantsError(lottery_id=lottery_id)
    external = (external_value or lottery.external_value or "").strip() or None
    await session.execute(
        update(Lottery)
        .where(Lottery.id == lottery_id)
        .values(
            participants_hash=participants.digest(),
            participants_count=len(participants),
            external_value=external,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(lottery)
    places = list(await session.scalars(select(Prize.place).where(Prize.lottery_id == lottery_id)))
    picks = fairness.pick(
        seed=lottery.seed,
        participants_hash=participants.digest(),
        count=len(participants),
        places=places,
        external=external,
    )
    created = await _create_wins(session, lottery, participants, picks, 0, now, claim_hours)
    await audit.record(
        session=session,
        action="drawn",
        actor=actor,
        lottery_id=lottery_id,
        detail={
            "participants": len(participants),
            "participants_hash": participants.digest(),
            "seed": lottery.seed,
            "external_value": external,
        },
    )
    return DrawResult(lottery, 0, created)


async def _create_wins(
    session: AsyncSession,
    lottery: Lottery,
    participants: fairness.ParticipantList,
    picks: list[fairness.Pick],
    round_: int,
    now: object,
    claim_hours: float,
) -> list[Win]:
    numbers = {pick.place: participants[pick.index] for pick in picks}
    ids = dict(
        (
            await session.execute(
                select(Account.number, Account.id).where(Account.number.in_(numbers.values()))
            )
        ).all()
    )
    deadline = utcnow() + timedelta(hours=claim_hours)
    created = [
        Win(
            lottery_id=lottery.id,
            place=place,
            round=round_,
            account_id=ids[number],
            deadline_at=deadline,
        )
        for place, number in sorted(numbers.items())
    ]
    session.add_all(created)
    await session.flush()
    for win in created:
        await audit.record(
            session=session,
            action="win_created",
            lottery_id=lottery.id,
            win_id=win.id,
            detail={"place": win.place, "round": round_, "account": numbers[win.place]},
        )
    return created


async def redraw(
    *, session: AsyncSession, lottery_id: int, actor: int | None = None, claim_hours: float = 24
) -> DrawResult:
    """Give the places whose win expired unconfirmed to other accounts, never to an account
    that already won in this lottery. One redraw of a lottery at a time."""
    lottery = await get(session=session, lottery_id=lottery_id)
    if lottery.state != LotteryState.DRAWN:
        raise LotteryNotDrawnError(lottery_id=lottery_id)
    await serialize(session, f"lottery-redraw:{lottery_id}", sqlite_table="lotteries")
    await wins.expire_due(session=session, lottery_id=lottery_id)
    expired = list(
        await session.scalars(
            select(Win).where(Win.lottery_id == lottery_id, Win.status == wins.WinStatus.EXPIRED)
        )
    )
    if not expired:
        raise NothingToRedrawError(lottery_id=lottery_id)
    participants = await participant_list(session=session, lottery_id=lottery_id)
    round_ = (
        await session.scalar(select(func.max(Win.round)).where(Win.lottery_id == lottery_id)) or 0
    ) + 1
    taken = await _winner_indices(session, lottery_id, participants)
    picks = fairness.pick(
        seed=lottery.seed,
        participants_hash=lottery.participants_hash or "",
        count=len(participants),
        places=[w.place for w in expired],
        external=lottery.external_value,
        round_=round_,
        taken=taken,
    )
    if not picks:  # every account already won: refuse before anything is marked redrawn
        raise NoOneLeftToRedrawError(lottery_id=lottery_id)
    # Places are picked in ascending order, so the filled ones are a prefix of the expired
    # places and verification (which replays each round's recorded places) still agrees.
    filled = {pick.place for pick in picks}
    redrawn = [w for w in expired if w.place in filled]
    await session.execute(
        update(Win)
        .where(Win.id.in_([w.id for w in redrawn]))
        .values(status=wins.WinStatus.REDRAWN)
        .execution_options(synchronize_session=False)
    )
    for old in redrawn:
        await audit.record(
            session=session,
            action="redrawn",
            actor=actor,
            lottery_id=lottery_id,
            win_id=old.id,
            detail={"place": old.place},
        )
    created = await _create_wins(
        session, lottery, participants, picks, round_, utcnow(), claim_hours
    )
    unfilled = sorted(w.place for w in expired if w.place not in filled)
    return DrawResult(lottery, round_, created, unfilled)


async def _winner_indices(
    session: AsyncSession,
    lottery_id: int,
    participants: fairness.ParticipantList,
    before_round: int | None = None,
) -> set[int]:
    query = (
        select(Account.number)
        .join(Win, Win.account_id == Account.id)
        .where(Win.lottery_id == lottery_id)
    )
    if before_round is not None:
        query = query.where(Win.round < before_round)
    taken = set()
    for number in await session.scalars(query):
        index = participants.index_of(number)
        if index is not None:
            taken.add(index)
    return taken


@dataclass
class Verification:
    lottery_id: int
    ok: bool = True
    seed_hash_ok: bool = True
    participants_hash_ok: bool = True
    winners_ok: bool = True
    problems: list[str] = field(default_factory=list)
    expected: dict[tuple[int, int], str] = field(default_factory=dict)  # (round, place) → number
    recorded: dict[tuple[int, int], str] = field(default_factory=dict)  # what the database holds
    participants_hash: str = ""  # recomputed from the frozen list

    def differences(self) -> list[str]:
        """Each (round, place) whose recorded winner is not the recomputed one."""
        lines = []
        for round_, place in sorted(self.expected.keys() | self.recorded.keys()):
            want = self.expected.get((round_, place))
            got = self.recorded.get((round_, place))
            if want != got:
                lines.append(
                    f"round {round_} place {place}: recorded {got or 'none'}, "
                    f"recomputed {want or 'none'}"
                )
        return lines


async def verify(*, session: AsyncSession, lottery_id: int) -> Verification:
    """Recompute every round's winners from the revealed seed, the frozen participant list and
    the external value, and compare them (and the published hashes) with what was recorded."""
    lottery = await get(session=session, lottery_id=lottery_id)
    if lottery.state != LotteryState.DRAWN:
        raise LotteryNotDrawnError(lottery_id=lottery_id)
    report = Verification(lottery_id)
    if fairness.seed_hash(lottery.seed) != lottery.seed_hash:
        report.seed_hash_ok = False
        report.problems.append("seed does not match the published seed hash")
    participants = await participant_list(session=session, lottery_id=lottery_id)
    report.participants_hash = participants.digest()
    if participants.digest() != lottery.participants_hash:
        report.participants_hash_ok = False
        report.problems.append("participant list does not match the published hash")
    recorded = (
        await session.execute(
            select(Win.round, Win.place, Account.number)
            .join(Account, Account.id == Win.account_id)
            .where(Win.lottery_id == lottery_id)
        )
    ).all()
    actual = {(round_, place): number for round_, place, number in recorded}
    report.recorded = actual
    places = list(await session.scalars(select(Prize.place).where(Prize.lottery_id == lottery_id)))
    rounds = sorted({round_ for round_, _ in actual} | {0})
    taken: set[int] = set()
    for round_ in rounds:
        round_places = places if round_ == 0 else [p for r, p in actual if r == round_]
        picks = fairness.pick(
            seed=lottery.seed,
            participants_hash=lottery.participants_hash or "",
            count=len(participants),
            places=round_places,
            external=lottery.external_value,
            round_=round_,
            taken=taken,
        )
        for pick in picks:
            report.expected[(round_, pick.place)] = participants[pick.index]
            taken.add(pick.index)
        # the winners actually recorded in this round are excluded from later rounds
        for (r, _place), number in actual.items():
            index = participants.index_of(number)
            if r == round_ and index is not None:
                taken.add(index)
    if report.expected != actual:
        report.winners_ok = False
        report.problems.append("recorded winners differ from the recomputed ones")
    report.ok = report.seed_hash_ok and report.participants_hash_ok and report.winners_ok
    return report
