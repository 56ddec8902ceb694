"""The REST API's documentation page works offline: its assets come from the package."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from bozor.testing import Harness, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


async def test_swagger_ui_loads_nothing_from_another_host(bozor: Harness) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        assert any(asset.endswith(".js") for asset in assets), page.text
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not served by Bozor"
            assert (await http.get(asset)).status_code == 200, asset
        favicon = await http.get("/favicon.ico")
        assert favicon.status_code == 200
        assert favicon.headers["content-type"].startswith("image/")
