"""Types the request schemas share, strict where a lax parse would accept what the OpenAPI
document says is invalid.

pydantic's lax mode turns `0` into `False`, `false` into `0`, `"12"` into `12` and `0.5` or
`"0.5"` into 1970-01-01T00:00:00.5Z. A client that sends those has a bug that an answer of 422
shows at once; a guessed value would hide it. So request fields use `StrictInt`,
`StrictBool` (pydantic's) and `UTCDatetime` (below); query and path parameters keep lax
integers, since a URL carries only text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters


def _iso_text(value: Any) -> Any:
    """Only an ISO 8601 text is a time: not a number, nor a number written as text."""
    if isinstance(value, datetime):  # built in code, not sent
        return value
    if not isinstance(value, str):
        raise ValueError("a date-time must be an ISO 8601 string")
    try:
        float(value)
    except ValueError:
        return value
    raise ValueError("a date-time must be an ISO 8601 string, not a number")


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00
        raise ValueError("the time is out of range") from None


# ISO 8601 with a time zone (naive times are refused, not guessed), representable in UTC.
UTCDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
