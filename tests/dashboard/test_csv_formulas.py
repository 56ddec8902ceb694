"""CSV formula injection: text anyone can send (an integrator's user id, a rejection reason)
must not become a formula when an admin opens an export in a spreadsheet. Every CSV the
dashboard links to, and every CSV of the admin API, is read."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from tests.dashboard.test_dashboard import PASSWORD, sign_in

from bozor.csv_export import cell
from bozor.lotteries.reports import REPORTS
from bozor.lotteries.testing import make_lottery
from bozor.testing import Harness, free_port, new_api_key

EVIL = ['=HYPERLINK("http://x")', "+SUM(1+1)", "@cmd", "-2+3"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # The 2nd sign-up through one referrer is held for review (so it can be rejected).
    return {"http_port": free_port(), "velocity_burst": 1, "dashboard_password": PASSWORD}


def test_cells_that_would_be_formulas_are_quoted() -> None:
    for text in [*EVIL, "\tx", "\rx"]:
        assert cell(text) == "'" + text
    assert cell("Alice") == "Alice" and cell("a=b") == "a=b"
    assert cell(-5) == "-5" and cell(None) == ""  # numbers are ours, and stay numbers


async def _dashboard_csv_links(web: httpx.AsyncClient) -> set[str]:
    """Every CSV link of every dashboard page reachable from the overview."""
    seen: set[str] = set()
    links: set[str] = set()
    queue = ["/dashboard/"]
    while queue and len(seen) < 80:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        page = await web.get(path)
        assert page.status_code == 200, path
        for href in re.findall(r'href="(/dashboard/[^"#]*)"', page.text):
            href = href.replace("&amp;", "&")
            if ".csv" in href:
                links.add(href)
            elif not href.startswith(("/dashboard/language/", "/dashboard/static/")) and (
                href.split("?")[0] not in {p.split("?")[0] for p in seen}
            ):
                queue.append(href)
    return links


def _assert_safe(name: str, text: str) -> list[str]:
    cells = [value for row in csv.reader(io.StringIO(text)) for value in row]
    for value in cells:
        assert not value.startswith(FORMULA) or NUMBER.fullmatch(value), (name, value)
    return cells


async def test_no_export_holds_a_formula(bozor: Harness, web: httpx.AsyncClient) -> None:
    integrator = {"X-API-Key": await new_api_key(bozor, "referrals")}
    admin = {"X-API-Key": await new_api_key(bozor, "admin")}
    api = "/api/v1"
    answer = await web.post(f"{api}/generate-link", json={"user_id": EVIL[0]}, headers=integrator)
    assert answer.status_code == 200, answer.text
    code = answer.json()["code"]
    held = None
    for user_id in EVIL[1:]:
        answer = await web.post(
            f"{api}/verify-referral", json={"code": code, "user_id": user_id}, headers=integrator
        )
        assert answer.status_code == 201, answer.text
        if answer.json()["status"] == "review":
            held = answer.json()["id"]
    assert held is not None
    rejected = await web.post(
        f"{api}/admin/referrals/{held}/reject", json={"reason": "=cmd|' /C calc'!A0"}, headers=admin
    )
    assert rejected.status_code == 200, rejected.text
    await make_lottery(bozor.db, participants=3, places=1)

    # The admin API's exports.
    exports = [f"{api}/admin/referrals.csv"]
    exports += [f"{api}/admin/lottery-reports/{name}?format=csv" for name in REPORTS]
    found: list[str] = []
    for path in exports:
        answer = await web.get(path, headers=admin)
        assert answer.status_code == 200, (path, answer.text)
        found += _assert_safe(path, answer.text)

    # The dashboard's.
    assert (await sign_in(web, PASSWORD)).status_code == 303
    links = await _dashboard_csv_links(web)
    for expected in ("users/users.csv", "referrals/referrals.csv", "referrals/top.csv",
                     "lotteries/lotteries.csv", "audit/audit.csv"):  # fmt: skip
        assert any(expected in link for link in links), (expected, links)
    for link in sorted(links):
        answer = await web.get(urljoin("/dashboard/", link))
        assert answer.status_code == 200, link
        found += _assert_safe(link, answer.text)
    for text in [*EVIL, "=cmd|' /C calc'!A0"]:
        assert "'" + text in found, text  # written, quoted
