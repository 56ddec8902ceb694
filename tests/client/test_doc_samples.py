"""The samples of docs/api.md ("The whole flow in curl, Python and JavaScript"), run as they
are written against a live Bozor: a sample that stops working fails here."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bozor.testing import Harness, api_url, free_port, new_api_key

DOC = Path(__file__).parents[2] / "docs" / "api.md"
SAMPLES = dict(re.findall(r"^```(\w+) sample\n(.*?)^```$", DOC.read_text("utf-8"), re.M | re.S))
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.xdist_group("js-client")  # the JavaScript sample needs it built


def test_docs_have_the_three_samples() -> None:
    assert set(SAMPLES) == {"bash", "python", "js"}


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


def need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"the sample needs {', '.join(missing)}"
        if IN_CI:
            pytest.fail(f"{message}; CI must run it")
        pytest.skip(f"{message} (CI=true makes this a failure)")


async def command_for(language: str, folder: Path, request: pytest.FixtureRequest) -> list[str]:
    source = SAMPLES[language]
    if language == "bash":
        need("bash", "curl", "jq")
        return ["bash", "-euo", "pipefail", "-c", source]
    if language == "python":
        return [sys.executable, "-c", source]
    need("node")
    package: Path = request.getfixturevalue("js_package")
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "bozor-referrals").symlink_to(package, target_is_directory=True)
    (folder / "sample.mjs").write_text(source, "utf-8")
    return ["node", str(folder / "sample.mjs")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the samples, not the DB
@pytest.mark.parametrize("language", ["bash", "python", "js"])
async def test_the_sample_does_the_whole_flow(
    bozor: Harness, language: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    key = await new_api_key(bozor)
    command = await command_for(language, tmp_path, request)
    env = {**os.environ, "BOZOR": api_url(bozor), "KEY": key}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    printed = output.decode(errors="replace")
    assert process.returncode == 0, printed
    assert "confirmed" in printed and "10" in printed.split(), printed

    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as api:
        stats = (await api.get("/api/v1/referral-stats/alice")).json()
        rewards = (await api.get("/api/v1/rewards/alice")).json()
    assert (stats["clicks"], stats["confirmed"], stats["rewards_claimed"]) == (1, 1, 10)
    assert rewards["balance"] == 10
