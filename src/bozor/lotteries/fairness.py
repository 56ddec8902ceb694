"""The provably fair draw: winners derived from a secret seed, the frozen participant list and
an optional public randomness value, with no modulo bias. Pure functions, no database.

Procedure (docs/lotteries.md):
- seed: 64 hex characters, secret until the draw; `seed_hash = sha256(seed)` is published at
  creation, so the operator cannot change the seed afterwards.
- participants: the account numbers, sorted, each followed by "\\n"; `participants_hash` is
  their sha256, published at the draw.
- place p of round r takes the first counter c = 0, 1, ... for which
  x = HMAC-SHA256(key=seed, msg="bozor-lottery-v1|{participants_hash}|{external}|{r}|{p}|{c}")
  read as a 256-bit big-endian integer is below the largest multiple of n (rejection sampling:
  every index equally likely) and index x mod n is not taken yet (earlier places of this round,
  every winner of earlier rounds).
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NUMBER_WIDTH = 20  # "XX-XX-XX-XX-XX-XX-XX"
_LINE = NUMBER_WIDTH + 1  # with its newline
_CHECK_SLAB = 100_000
_SPACE = 1 << 256


def new_seed() -> str:
    return secrets.token_hex(32)


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


class ParticipantList:
    """Sorted account numbers in one compact buffer, kept in the hashed form ("number\\n", 21
    bytes each: a million take 21 MB, where a list of str would take 80), hashed as they
    arrive."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._last = b""

    def extend(self, numbers: Iterable[str]) -> None:
        """Append numbers, which must come in ascending order and be distinct."""
        chunk = bytearray()
        last = self._last
        for number in numbers:
            raw = number.encode()
            if len(raw) != NUMBER_WIDTH or raw <= last:
                raise ValueError(f"participants out of order or malformed at {number!r}")
            chunk += raw
            chunk += b"\n"
            last = raw
        self._last = last
        self._buffer += chunk
        self._hash.update(chunk)

    def extend_lines(self, data: bytes) -> None:
        """Append a piece of the hashed form itself, as a database can produce it (PostgreSQL's
        COPY text output): pieces may split a line; `finish_lines()` checks the whole."""
        self._buffer += data
        self._hash.update(data)

    def finish_lines(self) -> None:
        """Check what `extend_lines` appended: whole lines of the right width, in ascending
        order."""
        if len(self._buffer) % _LINE:
            raise ValueError("participant list ends in the middle of a number")
        count = len(self)
        if self._buffer[NUMBER_WIDTH::_LINE].count(b"\n") != count:
            raise ValueError("participant list has a malformed number")
        # Neighbours compared in C, a slab of numbers at a time to bound memory.
        data = bytes(self._buffer)
        previous = b""
        for slab in range(0, len(data), _CHECK_SLAB * _LINE):
            numbers = [
                data[i : i + NUMBER_WIDTH]
                for i in range(slab, min(len(data), slab + _CHECK_SLAB * _LINE), _LINE)
            ]
            if numbers[0] <= previous or not all(map(operator.lt, numbers, numbers[1:])):
                raise ValueError("participants out of order or repeated")
            previous = numbers[-1]
        self._last = previous

    def __len__(self) -> int:
        return len(self._buffer) // _LINE

    def __getitem__(self, index: int) -> str:
        start = index * _LINE
        return self._buffer[start : start + NUMBER_WIDTH].decode()

    def index_of(self, number: str) -> int | None:
        """Position of `number` (binary search), or None if it does not take part."""
        low, high = 0, len(self)
        while low < high:
            middle = (low + high) // 2
            if self[middle] < number:
                low = middle + 1
            else:
                high = middle
        return low if low < len(self) and self[low] == number else None

    def digest(self) -> str:
        return self._hash.copy().hexdigest()


@dataclass(frozen=True, slots=True)
class Pick:
    place: int
    index: int  # in the sorted participant list


def pick(
    *,
    seed: str,
    participants_hash: str,
    count: int,
    places: Sequence[int],
    external: str | None = None,
    round_: int = 0,
    taken: Iterable[int] = (),
) -> list[Pick]:
    """Winners of `places` (in ascending order) among `count` participants, skipping the
    indices in `taken`. Places beyond the participants available stay empty."""
    excluded = set(taken)
    key = seed.encode()
    picks: list[Pick] = []
    if count <= 0:
        return picks
    limit = _SPACE - _SPACE % count
    for place in sorted(places):
        if len(excluded) >= count:
            break
        counter = 0
        while True:
            message = (
                f"bozor-lottery-v1|{participants_hash}|{external or ''}|{round_}|{place}|{counter}"
            )
            value = int.from_bytes(hmac.new(key, message.encode(), hashlib.sha256).digest(), "big")
            counter += 1
            if value >= limit:
                continue
            index = value % count
            if index in excluded:
                continue
            excluded.add(index)
            picks.append(Pick(place, index))
            break
    return picks
