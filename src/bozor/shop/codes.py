"""Card codes: parsing import files, storing them encrypted once each, revealing them to
their buyer. A code's plaintext exists only in memory while importing or delivering."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import crypto
from bozor.db import upsert_insert, utcnow
from bozor.settings import Settings
from bozor.shop import audit
from bozor.shop.exceptions import BadImportError
from bozor.shop.models import Code, CodeStatus
from bozor.shop.service import catalogue
from bozor.signing import signing_secret

MAX_CODE_LENGTH = 256
MAX_IMPORT_BYTES = 5 * 1024 * 1024
CHUNK = 500
_CODES = cast(Table, Code.__table__)


@dataclass(frozen=True, slots=True)
class CodeLine:
    line: int  # 1-based line number in the file
    code: str


@dataclass(slots=True)
class ImportReport:
    product_id: int
    lines: int = 0  # codes read from the file
    added: int = 0
    duplicates_in_file: list[int] = field(default_factory=list)  # line numbers
    already_known: list[int] = field(default_factory=list)  # line numbers
    invalid: list[int] = field(default_factory=list)  # line numbers

    @property
    def rejected(self) -> int:
        return len(self.duplicates_in_file) + len(self.already_known) + len(self.invalid)


@cache
def _fingerprint_key(secret: str) -> bytes:
    return hashlib.sha256(f"bozor-code-fingerprint:{secret}".encode()).digest()


def fingerprint(settings: Settings, code: str) -> str:
    """A keyed hash of the code: equal codes match, the code cannot be read back from it.
    Keyed by API_SECRET (not ENCRYPTION_KEYS), so rotating encryption keys keeps it."""
    key = _fingerprint_key(signing_secret(settings))
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def parse(text: str) -> list[CodeLine]:
    """Codes from a TXT file (one per line) or a CSV file (a `code` column if the header
    names one, else the first column). Blank lines and a header are skipped."""
    lines = text.splitlines()
    sample = "\n".join(lines[:20])
    is_csv = any(sep in sample for sep in (",", ";", "\t"))
    found: list[CodeLine] = []
    if not is_csv:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                found.append(CodeLine(number, line.strip()))
        return _skip_header(found)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    column = 0
    header_row = None
    if rows:
        names = [cell.strip().lower() for cell in rows[0]]
        if "code" in names:
            column, header_row = names.index("code"), 0
    for number, row in enumerate(rows, start=1):
        if number - 1 == header_row or not row or column >= len(row):
            continue
        value = row[column].strip()
        if value:
            found.append(CodeLine(number, value))
    return found if header_row is not None else _skip_header(found)


def _skip_header(found: list[CodeLine]) -> list[CodeLine]:
    if found and found[0].code.lower() in ("code", "codes", "код", "kod"):
        return found[1:]
    return found


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise BadImportError(reason="too_big")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadImportError(reason="not_text") from None


async def import_codes(
    *,
    session: AsyncSession,
    settings: Settings,
    product_id: int,
    lines: Sequence[CodeLine],
    actor: str | None,
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Add the codes to a product's stock. A code seen before (in this file or already stored,
    for any product) is rejected and reported by line; the others are added."""
    await catalogue.get_product(session=session, product_id=product_id)
    if not lines:
        raise BadImportError(reason="empty")
    report = ImportReport(product_id=product_id, lines=len(lines))
    seen: dict[str, int] = {}
    fresh: list[tuple[CodeLine, str]] = []
    for item in lines:
        if len(item.code) > MAX_CODE_LENGTH or any(ch in item.code for ch in "\r\n\x00"):
            report.invalid.append(item.line)
            continue
        print_ = fingerprint(settings, item.code)
        if print_ in seen:
            report.duplicates_in_file.append(item.line)
            continue
        seen[print_] = item.line
        fresh.append((item, print_))
    now = utcnow()
    for start in range(0, len(fresh), CHUNK):
        chunk = fresh[start : start + CHUNK]
        rows = [
            {
                "product_id": product_id,
                "secret": crypto.encrypt(settings, item.code),
                "fingerprint": print_,
                "status": CodeStatus.AVAILABLE,
                "created_at": now,
            }
            for item, print_ in chunk
        ]
        inserted = set(
            await session.scalars(
                upsert_insert(session, _CODES)
                .on_conflict_do_nothing(index_elements=["fingerprint"])
                .returning(_CODES.c.fingerprint),
                rows,
            )
        )
        report.added += len(inserted)
        report.already_known.extend(item.line for item, p in chunk if p not in inserted)
        if progress is not None:
            progress(len(chunk))
    await audit.record(
        session=session,
        action="codes_imported",
        actor=actor,
        product_id=product_id,
        detail={"lines": report.lines, "added": report.added, "rejected": report.rejected},
    )
    return report


async def reveal(*, session: AsyncSession, settings: Settings, order_id: int) -> list[str]:
    """The plaintext codes sold in an order (to show its buyer; the caller checks who asks)."""
    secrets = await session.scalars(
        select(Code.secret)
        .where(Code.order_id == order_id, Code.status == CodeStatus.SOLD)
        .order_by(Code.id)
    )
    return [crypto.decrypt(settings, secret) for secret in secrets]


async def reencrypt(*, session: AsyncSession, settings: Settings, batch: int = 1000) -> int:
    """Re-encrypt with the first of ENCRYPTION_KEYS every stored code that an older key
    encrypted (after a rotation, before the old key is dropped); returns how many."""
    newest = crypto.newest_only(settings)
    done, last_id = 0, 0
    while True:
        rows = (
            await session.execute(
                select(Code.id, Code.secret).where(Code.id > last_id).order_by(Code.id).limit(batch)
            )
        ).all()
        if not rows:
            return done
        for code_id, secret in rows:
            try:
                newest.decrypt(secret.encode())
                continue  # already under the newest key
            except crypto.InvalidToken:
                pass
            rotated = crypto.encrypt(settings, crypto.decrypt(settings, secret))
            await session.execute(
                _CODES.update().where(_CODES.c.id == code_id).values(secret=rotated)
            )
            done += 1
        last_id = rows[-1][0]


async def stock(*, session: AsyncSession, product_id: int) -> int:
    """Codes of a product available now."""
    count = await session.scalar(
        select(func.count()).where(
            Code.product_id == product_id, Code.status == CodeStatus.AVAILABLE
        )
    )
    return int(count or 0)
