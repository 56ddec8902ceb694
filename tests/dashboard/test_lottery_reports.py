"""The prize-draw reports on the dashboard read as sentences of the admin's language: headers
translated (not `CLUB_CARD`, `TOTAL_WINS`), "—" where an account has no club card (not
`None`), statuses and times as on every page; the CSV keeps the reports' own column names."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bozor.lotteries import draws
from bozor.lotteries.testing import make_lottery
from bozor.testing import Harness, free_port

PASSWORD = "correct horse battery staple"
HEADERS = {
    "en": ["Account", "Club card", "Draws entered"],
    "ru": ["Счёт", "Клубная карта", "Участий в розыгрышах"],
    "uz": ["Hisob", "Klub kartasi", "Oʻyinlarda qatnashgan"],
}


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "dashboard_password": PASSWORD}


@pytest.fixture
async def web(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/dashboard/signin")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await client.post("/dashboard/signin", data={"csrf": csrf, "secret": PASSWORD})
        yield client


@pytest.mark.parametrize("language", ["en", "ru", "uz"])
async def test_reports_read_in_the_admins_language(
    bozor: Harness, web: httpx.AsyncClient, language: str
) -> None:
    lottery = await make_lottery(bozor.db, participants=4)  # accounts without club cards
    async with bozor.db() as session:
        await draws.draw(session=session, lottery_id=lottery)
        await session.commit()

    page = await web.get("/dashboard/lotteries", headers={"accept-language": language})
    assert page.status_code == 200
    table = page.text.split('data-testid="report-participations"', 1)[1].split("</table>", 1)[0]
    assert [h.split("</th>", 1)[0] for h in table.split("<th>")[1:]] == HEADERS[language]
    assert "<td>—</td>" in table
    assert "None" not in page.text
    for raw in ("club_card", "first_name", "total_wins", "participations", "won_at"):
        assert f"<th>{raw}</th>" not in page.text

    exported = list(
        csv.reader(
            io.StringIO((await web.get("/dashboard/lotteries/reports/wins_by_card.csv")).text)
        )
    )
    assert exported[0] == ["club_card", "first_name", "total_wins", "claimed_wins"]
