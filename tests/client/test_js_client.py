"""The JavaScript client (clients/js): its Node tests, run against Bozor running in this
process (SQLite and PostgreSQL) over a real socket.

Node and npm are needed: without them the test is skipped, except in CI (CI=true), where it
fails. Packages come from the lock file (`npm ci`, once, when node_modules is missing).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bozor.testing import Harness, api_url, free_port, new_api_key

# With the other tests that run the JavaScript client, on one xdist worker: installed and
# built once (the js_package fixture, in conftest.py).
pytestmark = pytest.mark.xdist_group("js-client")


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "webhook_retry_seconds": 0.2}


@pytest.mark.timeout(300)
async def test_javascript_client_against_bozor(bozor: Harness, js_package: Path) -> None:
    env = {
        **os.environ,
        "BOZOR_URL": api_url(bozor),
        "BOZOR_API_KEY": await new_api_key(bozor),
        "BOZOR_ADMIN_KEY": await new_api_key(bozor, "admin"),
        "NODE_NO_WARNINGS": "1",
    }
    node = shutil.which("node")
    assert node is not None
    # From this event loop's point of view a subprocess: Bozor keeps serving meanwhile.
    process = await asyncio.create_subprocess_exec(
        node, "--test", "--test-reporter=tap", cwd=js_package, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    report = output.decode(errors="replace")
    failed = "\n".join(line for line in report.splitlines() if line.startswith("not ok"))
    assert process.returncode == 0, f"{failed}\n\n{report[-6000:]}"
    assert "# fail 0" in report and "# skipped 0" in report, report[-3000:]
