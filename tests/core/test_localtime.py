"""TIMEZONE: times shown in the community's zone with its name, typed in it, stored in UTC."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime

import pytest

from bozor import localtime
from bozor.settings import SettingsError, load_settings


def in_zone(name: str, work: contextvars.Context | None = None) -> contextvars.Context:
    """A context whose zone is `name` (the test's own context keeps UTC)."""
    context = work or contextvars.copy_context()
    context.run(localtime.use, name)
    return context


def test_utc_is_the_default_and_is_named() -> None:
    moment = datetime(2026, 12, 14, 13, 48, tzinfo=UTC)
    assert contextvars.copy_context().run(localtime.show, moment) == "2026-12-14 13:48 UTC"


def test_a_time_typed_in_tashkent_is_stored_in_utc_and_shown_back_with_the_zone() -> None:
    tashkent = in_zone("Asia/Tashkent")
    stored = tashkent.run(localtime.parse, "2026-12-14 18:00")
    assert stored == datetime(2026, 12, 14, 13, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert tashkent.run(localtime.show, stored) == "2026-12-14 18:00 Asia/Tashkent"
    assert tashkent.run(localtime.show, stored, date=False) == "18:00 Asia/Tashkent"


@pytest.mark.parametrize(
    ("typed", "utc_hour", "abbreviation"),
    [("2027-01-15 18:00", 17, "CET"), ("2027-07-15 18:00", 16, "CEST")],
)
def test_berlin_round_trips_in_winter_and_in_summer(
    typed: str, utc_hour: int, abbreviation: str
) -> None:
    berlin = in_zone("Europe/Berlin")
    stored = berlin.run(localtime.parse, typed)
    assert stored.astimezone(UTC).hour == utc_hour
    assert berlin.run(localtime.show, stored) == f"{typed} {abbreviation}"
    assert (
        berlin.run(localtime.parse, berlin.run(localtime.show, stored).rsplit(" ", 1)[0]) == stored
    )


def test_a_time_the_clocks_skip_is_refused() -> None:
    berlin = in_zone("Europe/Berlin")
    with pytest.raises(ValueError, match="skip"):
        berlin.run(localtime.parse, "2027-03-28 02:30")  # 02:00 → 03:00 that night


def test_a_browser_field_is_read_as_well() -> None:
    stored = in_zone("Asia/Tashkent").run(localtime.parse, "2026-12-14T18:00")
    assert stored == datetime(2026, 12, 14, 13, 0, tzinfo=UTC)


def test_an_unknown_zone_is_refused_at_start_with_a_clear_error() -> None:
    with pytest.raises(SettingsError, match=r"unknown time zone 'Asia/Tashkend'.*IANA"):
        load_settings(timezone="Asia/Tashkend", _env_file=None)
    assert load_settings(timezone="Asia/Tashkent", _env_file=None).timezone == "Asia/Tashkent"
