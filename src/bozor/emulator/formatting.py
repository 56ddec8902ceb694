"""Text formatting the way Telegram does it: HTML parse mode and command entities.

Only ``parse_mode=HTML`` is parsed into plain text plus entities (with Telegram's errors for
unsupported or unbalanced tags, which catches real bugs such as unescaped user input).
Markdown modes are stored verbatim. Offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>"
)
_ATTR = re.compile(r"([a-zA-Z_-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "nbsp": "\xa0"}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")

_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _entity_error(what: str) -> Exception:
    return bad_request(f"can't parse entities: {what}")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn Telegram-flavoured HTML into ``(plain_text, entities)``."""
    if "<" not in source and "&" not in source:
        return source, []
    out: list[str] = []
    offset = 0  # UTF-16 offset in the produced text
    stack: list[tuple[str, dict[str, Any], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        amp = source.find("&", i)
        nxt = min(p for p in (lt, amp, n) if p != -1)
        if nxt > i:
            chunk = source[i:nxt]
            out.append(chunk)
            offset += utf16_len(chunk)
            i = nxt
            continue
        if source[i] == "&":
            m = _ENTITY.match(source, i)
            char = "&"
            if m:
                name = m.group(1)
                if name.startswith("#x"):
                    char = chr(int(name[2:], 16))
                elif name.startswith("#"):
                    char = chr(int(name[1:]))
                elif name.lower() in _NAMED:
                    char = _NAMED[name.lower()]
                else:
                    raise _entity_error(
                        f'Unsupported HTML entity "&{name};" at byte offset '
                        f"{_byte_offset(source, i)}"
                    )
                i = m.end()
            else:
                i += 1
            out.append(char)
            offset += utf16_len(char)
            continue
        m = _TAG.match(source, i)
        if m is None:
            raise _entity_error(
                f"Unexpected end of name token at byte offset {_byte_offset(source, i)}"
            )
        closing, name = m.group(1) == "/", m.group(2).lower()
        if closing:
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {_byte_offset(source, i)}")
            open_name, closed, start = stack.pop()
            if open_name != name:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {_byte_offset(source, i)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            closed["offset"] = start
            closed["length"] = offset - start
            language = closed.pop("_language", None)
            if name == "code" and language and stack and stack[-1][0] == "pre":
                stack[-1][1]["language"] = language
            elif closed["length"] > 0:
                entities.append(closed)
        else:
            kind = _TAG_TYPES.get(name)
            if kind is None:
                raise _entity_error(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, i)}'
                )
            attrs = {
                a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                for a in _ATTR.finditer(m.group(3))
            }
            entity: dict[str, Any] = {"type": kind}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _entity_error(
                    f'Unsupported start tag "span" at byte offset {_byte_offset(source, i)}'
                )
            if name == "a":
                entity["url"] = attrs.get("href", "")
            elif name == "blockquote" and "expandable" in attrs:
                entity["type"] = "expandable_blockquote"
            elif name == "tg-emoji":
                entity["custom_emoji_id"] = attrs.get("emoji-id", "")
            elif name == "code" and attrs.get("class", "").startswith("language-"):
                entity["_language"] = attrs["class"][len("language-") :]
            stack.append((name, entity, offset))
        i = m.end()
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


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
