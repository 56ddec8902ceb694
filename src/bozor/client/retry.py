"""When to send a request again, and how long to wait first."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_SECONDS = re.compile(r"\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of requests that are safe to send again (GETs, idempotent POSTs)."""

    retries: int = 3  # sends after the first one
    backoff: float = 0.5  # seconds before the first retry, doubling each time (with jitter)
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the error says it

    def backoff_for(self, retry: int) -> float:
        """The pause before retry number `retry` (0-based): between half and all of the step."""
        step = min(self.max_backoff, self.backoff * 2.0**retry)
        return step / 2 + random.uniform(0, step / 2)  # jitter, not a secret


NO_RETRIES = RetryPolicy(retries=0)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
