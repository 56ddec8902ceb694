"""The community's time zone (`TIMEZONE`): every time shown to people goes through `show`,
every time an admin types goes through `parse`; the database keeps UTC.

The zone is a context variable: `serve()` sets it from the settings (the tasks it starts
inherit it, as they inherit the metrics), the CLI sets it for its commands, and a process
that set nothing shows UTC. Renderers therefore need no settings passed down to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TYPED_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")  # typed in the bot; a browser's field

_zone: ContextVar[tzinfo] = ContextVar("bozor_zone", default=UTC)


def load(name: str) -> tzinfo:
    """The IANA zone called `name` (`UTC` is UTC); ValueError when there is none."""
    if name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Asia/Tashkent, "
            "Europe/Berlin or UTC"
        ) from None


def use(name: str) -> None:
    """Show and parse times in zone `name` from now on, in this context and the tasks it
    starts."""
    _zone.set(load(name))


def zone() -> tzinfo:
    return _zone.get()


def zone_name() -> str:
    """How the zone is called in texts: its IANA name (`Asia/Tashkent`), or `UTC`."""
    current = zone()
    return current.key if isinstance(current, ZoneInfo) else "UTC"


def label(value: datetime) -> str:
    """The zone of a moment, as people read it: its abbreviation when the zone has a real
    one (`UTC`, `CET`, `CEST`: it also says whether summer time applies), else its IANA
    name (Asia/Tashkent's abbreviation is the bare offset `+05`)."""
    abbreviation = value.astimezone(zone()).tzname() or ""
    return abbreviation if abbreviation.isalpha() else zone_name()


def show(value: datetime | None, *, date: bool = True, seconds: bool = False) -> str:
    """A moment in the community's zone with the zone's name: `2026-12-14 18:48 Asia/Tashkent`
    (`18:48 Asia/Tashkent` without the date); `—` for none."""
    if value is None:
        return "—"
    local = value.astimezone(zone())
    form = ("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return f"{local.strftime(form)} {label(value)}"


def day(value: datetime | None) -> str:
    """The community's calendar day of a moment (`2026-12-14`); `—` for none."""
    return value.astimezone(zone()).strftime("%Y-%m-%d") if value else "—"


def from_local(wall: datetime) -> datetime:
    """A wall-clock time in the community's zone, as an aware UTC moment. A time that the
    zone skips (the hour clocks jump over in spring) is refused with ValueError."""
    aware = wall.replace(tzinfo=zone())
    moment = aware.astimezone(UTC)
    if moment.astimezone(zone()).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise ValueError("a time the clocks skip")
    return moment


def parse(text: str, formats: Iterable[str] = TYPED_FORMATS) -> datetime:
    """A time an admin typed (`YYYY-MM-DD HH:MM`), read in the community's zone, as UTC;
    ValueError when it is not one."""
    for form in formats:
        try:
            wall = datetime.strptime(text.strip(), form)  # noqa: DTZ007 - zone applied below
        except ValueError:
            continue
        return from_local(wall)
    raise ValueError(f"not a time: {text!r}")
