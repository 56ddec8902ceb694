"""The dashboard's broadcasts pages over HTTP, against the running app, the broadcast engine
and the Bot API emulator: compose → preview (exactly the message, its recipients counted) →
confirm → delivered at Telegram's pace, with progress, the undelivered listed and every
delivery in CSV; a confirmation sent twice makes one broadcast; bad input is refused with
what to fix and nothing saved; scheduled broadcasts can be cancelled; CSRF and sign-in."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from tests.dashboard.test_dashboard import sign_in

from bozor.broadcasts.models import Broadcast
from bozor.db import utcnow
from bozor.testing import Harness, eventually, free_port, make_recipients

PASSWORD = "broadcasts dashboard password"
BASE = "/dashboard/broadcasts"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "dashboard_password": PASSWORD, "broadcast_interval": 0.2}


@pytest.fixture
async def web(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await sign_in(client, PASSWORD)).status_code == 303
        yield client


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the page's form posting to `action`."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


async def csrf(web: httpx.AsyncClient) -> str:
    page = (await web.get(f"{BASE}/new")).text
    return hidden_fields(page, f"{BASE}/preview")["csrf"]


async def preview(web: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = {"text": "", "photo": "", "buttons": "", "audience": "all", "when": "", **fields}
    return await web.post(f"{BASE}/preview", data={"csrf": await csrf(web), **form})


async def broadcasts(bozor: Harness) -> int:
    async with bozor.db() as session:
        return int(await session.scalar(select(func.count()).select_from(Broadcast)) or 0)


def rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_compose_preview_confirm_and_follow_it_to_the_end(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    russian = await make_recipients(bozor, 3, language="ru", first_name="Иван")
    await make_recipients(bozor, 2, language="en")
    await bozor.driver.inject_fault(  # Telegram answers 403 for this one
        "sendMessage",
        error_code=403,
        description="Forbidden: bot was blocked by the user",
        chat_id=russian[2],
    )

    shown = await preview(
        web,
        text="<b>Скидка</b> 20%\nтолько <i>сегодня</i> &amp; завтра",
        buttons="Магазин - https://example.com/shop | Помощь - https://example.com/help",
        audience="language=ru",
    )
    assert shown.status_code == 200, shown.text
    assert "<b>Скидка</b> 20%\nтолько <i>сегодня</i> &amp; завтра" in shown.text
    assert 'href="https://example.com/shop"' in shown.text and "Помощь" in shown.text
    assert re.search(r'data-testid="recipients"><b>3 recipients</b> · language: ru', shown.text)
    assert await broadcasts(bozor) == 0  # a preview saves nothing

    confirm = hidden_fields(shown.text, BASE)
    assert confirm["audience"] == "language=ru" and confirm["draft"]
    created = await web.post(BASE, data=confirm)
    assert created.status_code == 303
    page_url = created.headers["location"]
    assert re.fullmatch(rf"{BASE}/\d+\?result=created", page_url)

    async def finished() -> bool:
        return 'data-state="done"' in (await web.get(page_url)).text

    await eventually(finished, timeout=30)
    page = (await web.get(page_url)).text
    assert "Broadcast #" in page and "is saved" in page
    assert re.search(r'data-testid="done">3 / 3<', page)
    assert re.search(r'count-sent"><span class="value">2<', page)
    assert re.search(r'count-blocked"><span class="value">1<', page)
    assert 'http-equiv="refresh"' not in page  # over: no more reloading
    assert "dashboard admin (password)" in page
    problems = page.split('data-testid="problems"', 1)[1]
    assert "Иван" in problems and "blocked the bot" in problems

    for chat in russian[:2]:
        message = (await bozor.driver.bot_messages(chat))[-1]
        assert message["text"] == "Скидка 20%\nтолько сегодня & завтра"
        keyboard = message["reply_markup"]["inline_keyboard"]
        assert [[b["url"] for b in row] for row in keyboard] == [
            ["https://example.com/shop", "https://example.com/help"]
        ]

    broadcast_id = page_url.split("/")[-1].split("?")[0]
    deliveries = rows(await web.get(f"{BASE}/{broadcast_id}/deliveries.csv"))
    assert sorted(d["status"] for d in deliveries) == ["blocked", "sent", "sent"]
    assert {int(d["chat_id"]) for d in deliveries} == set(russian)
    listed = rows(await web.get(f"{BASE}/broadcasts.csv"))
    assert [(b["id"], b["state"], b["sent"], b["blocked"], b["source"]) for b in listed] == [
        (broadcast_id, "done", "2", "1", "dashboard")
    ]
    listing = (await web.get(BASE)).text
    assert f'data-testid="broadcast-{broadcast_id}"' in listing and "Скидка 20%" in listing
    overview = (await web.get("/dashboard/")).text
    assert "broadcasts in the last 30 days" in overview


async def test_a_confirmation_sent_twice_makes_one_broadcast(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    await make_recipients(bozor, 2)
    shown = await preview(web, text="Once only")
    confirm = hidden_fields(shown.text, BASE)
    answers = await asyncio.gather(*(web.post(BASE, data=confirm) for _ in range(4)))
    assert {a.status_code for a in answers} == {303}
    assert len({a.headers["location"].split("?")[0] for a in answers}) == 1
    assert await broadcasts(bozor) == 1
    fresh = hidden_fields((await preview(web, text="Once only")).text, BASE)
    assert fresh["draft"] != confirm["draft"]  # the same text confirmed again is a new one
    assert (await web.post(BASE, data=fresh)).status_code == 303
    assert await broadcasts(bozor) == 2


BAD_INPUT = [
    ({"text": "Hello<br>world"}, "does not know the tag &lt;br&gt;"),
    ({"text": "<b>Hello"}, "&lt;b&gt; is never closed"),
    ({"text": "1 < 2"}, "cannot read “&lt; 2” as a tag"),
    ({"text": "<a href=https://x.com/a>x</a>"}, "put attribute values in quotes"),
    ({"text": "<span>x</span>"}, "needs class=&#34;tg-spoiler&#34;"),
    ({"text": "   "}, "The message is empty"),
    ({"text": "x" * 4097}, "4097 characters long; Telegram allows 4096"),
    ({"text": "x" * 1025, "photo": "https://example.com/a.jpg"}, "allows 1024"),
    ({"text": "Hi", "photo": "not a photo"}, "must be an https:// link"),
    ({"text": "Hi", "buttons": "Shop https://example.com"}, "Line 1 is not a button"),
    ({"text": "Hi", "buttons": "Shop - javascript:alert(1)"}, "is not a link a button"),
    ({"text": "Hi", "audience": "everyone"}, "There is no segment"),
    ({"text": "Hi", "when": "tomorrow"}, "That is not a time"),
    ({"text": "Hi", "when": "2020-01-01T10:00"}, "That time has passed"),
]


async def test_bad_input_is_refused_with_what_to_fix(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    for fields, says in BAD_INPUT:
        shown = await preview(web, **fields)
        assert shown.status_code == 422, fields
        error = shown.text.split('data-testid="error">', 1)[1].split("</p>", 1)[0]
        assert says in error, (fields, error)
        for name, value in fields.items():  # the form keeps what was typed
            if name != "audience":
                assert html.escape(value, quote=True) in shown.text, name
        # A forged confirmation with the same fields is refused just the same.
        forged = await web.post(BASE, data={"csrf": await csrf(web), "draft": "x" * 20, **fields})
        assert forged.status_code == 422, fields
    assert await broadcasts(bozor) == 0


async def test_schedule_then_cancel(bozor: Harness, web: httpx.AsyncClient) -> None:
    chats = await make_recipients(bozor, 2)
    when = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    shown = await preview(web, text="Later", when=when)
    assert f"It goes out at {when.replace('T', ' ')} UTC" in shown.text
    created = await web.post(BASE, data=hidden_fields(shown.text, BASE))
    page_url = created.headers["location"]
    page = (await web.get(page_url)).text
    assert 'data-state="scheduled"' in page and 'http-equiv="refresh"' in page
    broadcast_id = page_url.split("/")[-1].split("?")[0]

    cancel = hidden_fields(page, f"{BASE}/{broadcast_id}/cancel")
    cancelled = await web.post(f"{BASE}/{broadcast_id}/cancel", data=cancel)
    assert cancelled.headers["location"].endswith("?result=cancelled")
    page = (await web.get(cancelled.headers["location"])).text
    assert 'data-state="cancelled"' in page and 'data-testid="cancel"' not in page
    again = await web.post(f"{BASE}/{broadcast_id}/cancel", data=cancel)
    page = (await web.get(again.headers["location"])).text
    assert f"Broadcast #{broadcast_id} is already over." in page
    await asyncio.sleep(1)  # several rounds of the engine: nothing goes out
    for chat in chats:
        assert await bozor.driver.bot_messages(chat) == []


async def test_edit_goes_back_to_the_form_as_typed(web: httpx.AsyncClient) -> None:
    shown = await preview(web, text="<i>Draft</i> one", buttons="A - https://a.example")
    back = await web.post(f"{BASE}/compose", data=hidden_fields(shown.text, f"{BASE}/compose"))
    assert back.status_code == 200
    assert "&lt;i&gt;Draft&lt;/i&gt; one</textarea>" in back.text
    assert "A - https://a.example</textarea>" in back.text


async def test_forms_need_the_csrf_token_and_pages_a_session(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    form = {"text": "Hi", "audience": "all", "draft": "k" * 20}
    for path in (f"{BASE}/preview", BASE, f"{BASE}/1/cancel"):
        refused = await web.post(path, data=form)
        assert refused.status_code == 403, path
    assert await broadcasts(bozor) == 0
    url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=url) as stranger:
        for path in (BASE, f"{BASE}/new", f"{BASE}/1", f"{BASE}/broadcasts.csv"):
            assert (await stranger.get(path)).status_code in (303, 401), path
    assert (await web.get(f"{BASE}/999")).status_code == 404


@pytest.mark.parametrize(
    "bozor_overrides",
    [{"http_port": free_port(), "dashboard_password": PASSWORD, "timezone": "Europe/Berlin"}],
)
async def test_a_schedule_is_typed_and_shown_in_the_communitys_zone(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    await make_recipients(bozor, 1)
    form = (await web.get(f"{BASE}/new")).text
    assert "Send at (Europe/Berlin, optional)" in form
    utc = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    local = utc.astimezone(ZoneInfo("Europe/Berlin"))
    typed = local.strftime("%Y-%m-%dT%H:%M")
    shown = await preview(web, text="Later", when=typed)
    assert f"It goes out at {local:%Y-%m-%d %H:%M} {local.tzname()}." in shown.text, shown.text
    created = await web.post(BASE, data=hidden_fields(shown.text, BASE))
    assert created.status_code == 303
    async with bozor.db() as session:
        assert await session.scalar(select(Broadcast.scheduled_at)) == utc
