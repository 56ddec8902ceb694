"""CSV that is safe to open in a spreadsheet: every export (dashboard, admin API, the bot's
reports) writes its cells through here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (`=HYPERLINK(...)` runs when the file is opened), and anyone can
put such text into a name or an integrator's user id. Such a cell is written with a leading
`'`, which spreadsheets read as "this is text" (OWASP's advice). Numbers stay numbers: they
are ours, never text somebody typed, and a negative amount must stay a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as CSV text: None is empty, dates are ISO 8601, text cannot be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """`csv.writer` whose every cell goes through `cell()`."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: IO[str]) -> SafeWriter:
    """A CSV writer for exports (formulas neutralised)."""
    return SafeWriter(stream)
