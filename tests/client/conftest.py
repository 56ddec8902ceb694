"""Both clients against Bozor running in this process, over a real socket."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from bozor.apikeys import service as keys_service
from bozor.client import AsyncBozorClient, BozorClient
from bozor.testing import Harness, free_port

Hook = Callable[[httpx.Request], None]


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
def make_key(bozor: Harness) -> Callable[..., Awaitable[str]]:
    """Makes an API key with these scopes (default: referrals)."""

    async def make(*scopes: str) -> str:
        async with bozor.db() as session:
            created = await keys_service.create(
                session=session, name="client tests", scopes=list(scopes) or ["referrals"]
            )
            await session.commit()
        return created.secret

    return make


@pytest.fixture
async def key(make_key: Callable[..., Awaitable[str]]) -> str:
    return await make_key()


@pytest.fixture
def base_url(bozor: Harness) -> str:
    return f"http://127.0.0.1:{bozor.settings.http_port}"


class Threaded:
    """A BozorClient driven from an async test: each call runs in a worker thread, so the
    server, which shares the test's event loop, keeps serving meanwhile."""

    def __init__(self, client: BozorClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call


class Connect(Protocol):
    def __call__(
        self, api_key: str, *, hook: Hook | None = None, use_token: bool = False
    ) -> Any: ...


@pytest.fixture(params=["sync", "async"])
async def connect(request: pytest.FixtureRequest, base_url: str) -> AsyncIterator[Connect]:
    """Makes clients of one kind (each test runs with both), all awaited alike. With `hook`,
    the client sends through an httpx client of the test's that shows it every request."""
    is_async = request.param == "async"
    opened: list[Any] = []

    def make(api_key: str, *, hook: Hook | None = None, use_token: bool = False) -> Any:
        http: Any = None
        if hook is not None:
            if is_async:

                async def observe(request: httpx.Request) -> None:
                    hook(request)

                http = httpx.AsyncClient(event_hooks={"request": [observe]})
            else:
                http = httpx.Client(event_hooks={"request": [hook]})
            opened.append(http)
        if is_async:
            async_client = AsyncBozorClient(
                base_url, api_key, http_client=http, use_token=use_token
            )
            opened.append(async_client)
            return async_client
        client = BozorClient(base_url, api_key, http_client=http, use_token=use_token)
        opened.append(client)
        return Threaded(client)

    yield make
    for closable in reversed(opened):
        closed = closable.aclose() if isinstance(closable, httpx.AsyncClient) else closable.close()
        if closed is not None:
            await closed


JS = Path(__file__).parents[2] / "clients" / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"


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

    # One xdist worker at a time, and a build only when the sources changed: `npm ci` and the
    # build delete what another worker's tests may be reading.
    lock = Path(tempfile.gettempdir()) / f"bozor-js-{hashlib.sha256(bytes(JS)).hexdigest()[:12]}"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (JS / "node_modules" / ".package-lock.json").exists():
            run("ci", "--no-audit", "--no-fund")
        if not _built():
            run("run", "build")
    return JS


def _built() -> bool:
    """dist/ is newer than every source of it (the build writes dist/cjs/package.json last)."""
    last = JS / "dist" / "cjs" / "package.json"
    sources = [*(JS / "src").rglob("*.ts"), *JS.glob("*.json"), JS / "scripts" / "build.mjs"]
    return last.exists() and last.stat().st_mtime >= max(p.stat().st_mtime for p in sources)
