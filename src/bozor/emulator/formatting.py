"""Text formatting the way Telegram does it: HTML parse mode and command entities.

Only ``parse_mode=HTML`` is parsed into plain text plus entities (with Telegram's errors for
unsupported or unbalanced tags, which catches real bugs such as unescaped user input).
Markdown modes are stored verbatim. Offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

import re
from typing import Any

from bozor import telegram_html

from .errors import bad_request

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn Telegram-flavoured HTML into ``(plain_text, entities)``, or Telegram's error."""
    if "<" not in source and "&" not in source:
        return source, []
    try:
        parsed = telegram_html.parse(source)
    except telegram_html.HtmlError as exc:
        raise bad_request(f"can't parse entities: {exc.message}") from None
    return parsed.text, parsed.entities


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    """Apply ``entities`` (they win, as in Telegram) or ``parse_mode``."""
    if entities:
        return text, entities
    if parse_mode and parse_mode.lower() == "html":
        plain, parsed = parse_html(text)
        return plain, parsed or None
    return text, None


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """The ``bot_command`` entity Telegram adds for a leading ``/command``."""
    if not text.startswith("/"):
        return None
    m = _COMMAND.match(text)
    if m is None:
        return None
    end = m.end()
    if end < len(text) and not text[end].isspace():
        return None
    return [{"offset": 0, "length": end, "type": "bot_command"}]
