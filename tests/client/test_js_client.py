"""The JavaScript client (clients/js): its Node tests, run against Bozor running in this
process (SQLite and PostgreSQL) over a real socket.

Node and npm are needed: without them the test is skipped, except in CI (CI=true), where it
fails. Packages come from the lock file (`npm ci`, once, when node_modules is missing).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bozor.testing import Harness, api_url, free_port, new_api_key

JS = Path(__file__).parents[2] / "clients" / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"
# Both database runs on one xdist worker: the package is installed and built once.
pytestmark = pytest.mark.xdist_group("js-client")


def npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed for the JavaScript client's tests"
        if IN_CI:
            pytest.fail(f"{message}; CI must run them")
        pytest.skip(f"{message} (CI=true makes this a failure)")
    return npm


@pytest.fixture(scope="session")
def js_package() -> Path:
    """clients/js installed from its lock file and built (dist/ holds ESM, CJS and .d.ts)."""
    command = npm()

    def run(*args: str) -> None:
        done = subprocess.run(
            [command, *args], cwd=JS, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"npm {' '.join(args)}:\n{done.stdout}\n{done.stderr}"

    if not (JS / "node_modules" / ".package-lock.json").exists():
        run("ci", "--no-audit", "--no-fund")
    run("run", "build")
    return JS


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
