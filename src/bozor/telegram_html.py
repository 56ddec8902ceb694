"""Telegram's HTML parse mode, parsed as Telegram parses it: the Bot API emulator answers with
it (plain text and entities, or Telegram's "can't parse entities" error), and broadcasts
check their text with it before they are saved, so a text Telegram would refuse for every
recipient is refused while the admin can still fix it. The same pass gives safe browser HTML
for the dashboard's preview.

As Telegram (tdlib's HTML parser): the tags of https://core.telegram.org/bots/api#html-style,
balanced; unknown attributes ignored; only &lt; &gt; &amp; &quot; and numeric entities are
decoded, anything else after "&" is text; a "<" that does not start a tag is an error.
Offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

# Unquoted attribute values: letters, digits, "." and "-" only (as Telegram).
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z_-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[a-zA-Z0-9.-]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z_-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([a-zA-Z0-9.-]+)))?")
_ENTITY = re.compile(r"&(#\d{1,8}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SAFE_LINK = re.compile(r"^(https?://|tg://|mailto:)", re.IGNORECASE)

# Tag → entity type.
TAGS = {
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
    "span": "spoiler",  # only with class="tg-spoiler"
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
# Entity type → the browser's tag in the preview.
_WEB = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
}


class HtmlError(ValueError):
    """Telegram would refuse the text. `kind` and `params` say why (for a translated message);
    `message` is Telegram's own wording."""

    def __init__(self, kind: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.params = params


@dataclass(slots=True)
class Parsed:
    text: str  # what the reader sees
    entities: list[dict[str, Any]]
    web: list[str] = field(default_factory=list)  # safe browser HTML, in pieces

    def web_html(self) -> Markup:
        return Markup("".join(self.web))


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _entity(match: re.Match[str]) -> str | None:
    """The character an entity stands for, or None when Telegram keeps it as text."""
    name = match.group(1)
    if not name.startswith("#"):
        return _NAMED.get(name)
    code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _decoded(value: str) -> str:
    """An attribute's value with its entities decoded, as in text."""
    if "&" not in value:
        return value
    return _ENTITY.sub(lambda m: _entity(m) or m.group(0), value)


def _web_start(name: str, entity: dict[str, Any]) -> str:
    kind = entity["type"]
    if kind == "text_link":
        url = str(entity.get("url") or "")
        if not _SAFE_LINK.match(url):
            return "<a>"
        return f'<a href="{escape(url)}" rel="noopener noreferrer nofollow">'
    if kind == "spoiler":
        return '<span class="spoiler">'
    return f"<{_WEB[kind]}>" if kind in _WEB else "<span>"


def _web_end(entity: dict[str, Any]) -> str:
    kind = entity["type"]
    if kind == "text_link":
        return "</a>"
    return f"</{_WEB[kind]}>" if kind in _WEB else "</span>"


def parse(source: str) -> Parsed:
    """The text and entities Telegram makes of this HTML; HtmlError when it would refuse it."""
    out: list[str] = []
    web: list[str] = []
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
            web.append(str(escape(chunk)))
            offset += utf16_len(chunk)
            i = nxt
            continue
        if source[i] == "&":
            m = _ENTITY.match(source, i)
            char = _entity(m) if m else None
            if m and char is not None:
                i = m.end()
            else:
                char = "&"
                i += 1
            out.append(char)
            web.append(str(escape(char)))
            offset += utf16_len(char)
            continue
        m = _TAG.match(source, i)
        if m is None:
            raise HtmlError(
                "bad_tag",
                f"Unexpected end of name token at byte offset {_byte_offset(source, i)}",
                fragment=source[i : i + 30],
            )
        closing, name = m.group(1) == "/", m.group(2).lower()
        if closing:
            if not stack:
                raise HtmlError(
                    "unbalanced",
                    f"Unexpected end tag at byte offset {_byte_offset(source, i)}",
                    tag=name,
                    expected="—",
                )
            open_name, closed, start = stack.pop()
            if open_name != name:
                raise HtmlError(
                    "unbalanced",
                    f"Unmatched end tag at byte offset {_byte_offset(source, i)}, "
                    f'expected "</{open_name}>", found "</{name}>"',
                    tag=name,
                    expected=open_name,
                )
            closed["offset"] = start
            closed["length"] = offset - start
            web.append(_web_end(closed))
            language = closed.pop("_language", None)
            if name == "code" and language and stack and stack[-1][0] == "pre":
                stack[-1][1]["language"] = language
            elif closed["length"] > 0:
                entities.append(closed)
        else:
            kind = TAGS.get(name)
            if kind is None:
                raise HtmlError(
                    "unknown_tag",
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, i)}',
                    tag=name,
                )
            attrs = {
                a.group(1).lower(): _decoded(a.group(2) or a.group(3) or a.group(4) or "")
                for a in _ATTR.finditer(m.group(3))
            }
            entity: dict[str, Any] = {"type": kind}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlError(
                    "bad_attribute",
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(source, i)}",
                    tag=name,
                    attribute="class",
                )
            if name == "a":
                entity["url"] = attrs.get("href", "")
            elif name == "blockquote" and "expandable" in attrs:
                entity["type"] = "expandable_blockquote"
            elif name == "tg-emoji":
                entity["custom_emoji_id"] = attrs.get("emoji-id", "")
            elif name == "tg-time" and attrs.get("unix", "").isdigit():
                entity["unix_time"] = int(attrs["unix"])
                if attrs.get("format"):
                    entity["date_time_format"] = attrs["format"]
            elif name == "code":
                # class="language-x" as documented; aiogram writes language="language-x"
                language = attrs.get("class") or attrs.get("language") or ""
                if language.startswith("language-"):
                    entity["_language"] = language[len("language-") :]
            web.append(_web_start(name, entity))
            stack.append((name, entity, offset))
        i = m.end()
    if stack:
        raise HtmlError(
            "unclosed",
            f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"',
            tag=stack[-1][0],
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Parsed("".join(out), entities, web)


def to_web(source: str) -> Markup:
    """The HTML as a browser may show it (only these tags; links only to http(s), tg and
    mailto); text Telegram would refuse is shown as it was typed."""
    try:
        return parse(source).web_html()
    except HtmlError:
        return Markup(escape(source))


def plain(source: str) -> str:
    """What a reader sees (for excerpts); text Telegram would refuse is returned as typed."""
    try:
        return parse(source).text
    except HtmlError:
        return source
