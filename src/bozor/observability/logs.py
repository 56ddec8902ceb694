"""Log lines as text or JSON, each carrying the id of the request or update being handled.

The ids live in context variables: set by the HTTP middleware (X-Request-ID) and the bot's
update middleware, they follow the work into every coroutine it awaits and every task it starts.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Literal, TextIO

request_id: ContextVar[str | None] = ContextVar("bozor_request_id", default=None)
update_id: ContextVar[int | None] = ContextVar("bozor_update_id", default=None)

# What a client may send as X-Request-ID: printable, no spaces, bounded (it ends up in logs).
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def accept_request_id(sent: str | None) -> str:
    """The caller's request id when it is a sane one, else a new one."""
    if sent and _REQUEST_ID_RE.match(sent):
        return sent
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Puts the current request and update ids on every record (None outside of one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.update_id = update_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "update_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with `[request id]` or `[update id]` when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = []
        if (rid := getattr(record, "request_id", None)) is not None:
            tags.append(f"request={rid}")
        if (uid := getattr(record, "update_id", None)) is not None:
            tags.append(f"update={uid}")
        return f"{line} [{' '.join(tags)}]" if tags else line


def handler(stream: TextIO, fmt: Literal["text", "json"] = "text") -> logging.Handler:
    """A handler writing to `stream` in the chosen format, with the ids."""
    made = logging.StreamHandler(stream)
    made.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    made.addFilter(ContextFilter())
    return made


def configure(
    level: str,
    fmt: Literal["text", "json"] = "text",
    *,
    file: Path | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
) -> list[logging.Handler]:
    """Log to stderr, and to a size-rotated `file` when given, in the chosen format with the
    ids; replaces earlier handlers and returns the new ones."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handlers = [handler(sys.stderr, fmt)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        rotating = RotatingFileHandler(
            file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        rotating.addFilter(ContextFilter())
        handlers.append(rotating)
    for made in handlers:
        root.addHandler(made)
    root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    return handlers
