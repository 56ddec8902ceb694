"""Telegram's HTML as Telegram reads it: what it accepts (everything aiogram writes for a
formatted message), what it refuses, and the browser HTML the dashboard's preview shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, MessageEntity, User

from bozor.telegram_html import HtmlError, parse, plain, to_web


def html_text(text: str, *entities: MessageEntity) -> str:
    """The HTML aiogram makes of a formatted message (what /broadcast stores)."""
    message = Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=Chat(id=1, type="private"),
        text=text,
        entities=list(entities),
    )
    return message.html_text


def test_everything_aiogram_writes_is_accepted() -> None:
    text = "bold spoiler quote code link emoji 👍 a<b & c"
    entities = [
        MessageEntity(type="bold", offset=0, length=4),
        MessageEntity(type="spoiler", offset=5, length=7),
        MessageEntity(type="expandable_blockquote", offset=13, length=5),
        MessageEntity(type="pre", offset=19, length=4, language="python"),
        MessageEntity(type="text_link", offset=24, length=4, url="https://t.me/a?x=1&y=2"),
        MessageEntity(type="text_mention", offset=29, length=5, user=User(id=7, is_bot=False,
                      first_name="A")),
        MessageEntity(type="custom_emoji", offset=35, length=2,
                      custom_emoji_id="5368324170671202286"),
    ]  # fmt: skip
    source = html_text(text, *entities)
    parsed = parse(source)
    assert parsed.text == text
    kinds = {e["type"]: e for e in parsed.entities}
    assert set(kinds) >= {"bold", "spoiler", "expandable_blockquote", "pre", "custom_emoji"}
    assert kinds["pre"]["language"] == "python"
    links = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
    assert links == ["https://t.me/a?x=1&y=2", "tg://user?id=7"]


@pytest.mark.parametrize(
    ("source", "seen"),
    [
        ("AT&T &nbsp; https://shop.uz/?a=1&utm_source=tg", "AT&T &nbsp; https://shop.uz/?a=1&utm_source=tg"),
        ("&lt;&gt;&amp;&quot;&#169;&#xA9;", '<>&"©©'),
        ("&#xD800; &#0; &#1114112;", "&#xD800; &#0; &#1114112;"),  # not characters: kept as text
        ('<a>link</a> <b data-x="1">x</b> <code language="language-go">y</code>', "link x y"),
        ("<B>x</b> <blockquote expandable>q</blockquote>", "x q"),
        ("<a href=example.com>x</a>", "x"),
    ],
)  # fmt: skip
def test_lenient_where_telegram_is(source: str, seen: str) -> None:
    assert parse(source).text == seen


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("a < b", "bad_tag"),
        ("<b", "bad_tag"),
        ("<a href=https://x.com/a>x</a>", "bad_tag"),
        ("<br>", "unknown_tag"),
        ("x<br/>", "bad_tag"),
        ("<div>x</div>", "unknown_tag"),
        ("<!-- c -->", "bad_tag"),
        ("<span>x</span>", "bad_attribute"),
        ("<b>x", "unclosed"),
        ("x</b>", "unbalanced"),
        ("<b><i>x</b></i>", "unbalanced"),
    ],
)
def test_refused_as_telegram_refuses(source: str, kind: str) -> None:
    with pytest.raises(HtmlError) as refused:
        parse(source)
    assert refused.value.kind == kind


def test_the_preview_shows_only_safe_html() -> None:
    shown = to_web(
        '<b>hi</b> <a href="javascript:alert(1)">x</a> <a href="https://e.com/?a=1&amp;b=&quot;2">y</a>'
        " <tg-spoiler>s</tg-spoiler> <i>&lt;script&gt;</i> &#xD800;"
    )
    assert shown == (
        '<b>hi</b> <a>x</a> <a href="https://e.com/?a=1&amp;b=&#34;2" '
        'rel="noopener noreferrer nofollow">y</a> <span class="spoiler">s</span> '
        "<i>&lt;script&gt;</i> &amp;#xD800;"
    )
    assert to_web("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert str(shown.encode("utf-8", "strict"), "utf-8")  # no lone surrogate reaches a page
    assert plain("<b>Sale</b> &amp; more") == "Sale & more"


def test_long_texts_split_at_line_ends() -> None:
    from bozor.telegram import split_text

    lines = [f"{n:03d} " + "x" * 95 for n in range(100)]  # 100 lines of 99 characters
    parts = split_text("\n".join(lines), limit=1000)
    assert [len(p) for p in parts] == [999] * 10
    assert "\n".join(parts) == "\n".join(lines)
    assert split_text("y" * 2500, limit=1000) == ["y" * 1000, "y" * 1000, "y" * 500]
    assert split_text("short\n" + "z" * 1500, limit=1000) == ["short", "z" * 1000, "z" * 500]
    assert split_text("") == [""]
