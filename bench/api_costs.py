"""Where an API request's time goes: Bozor's ASGI app called in-process, one request at a time.

No HTTP server, no load generator, no concurrency: each request goes straight into the app
(as uvicorn would hand it over), so the CPU time per request and the SQL statements it runs
are Bozor's and FastAPI's alone. Reference points, on the same engine:
  floor       a FastAPI route answering the same 302 without the database;
  one insert  a FastAPI route writing one clicks row in its own transaction (SQLAlchemy Core).
bench/api_throughput.py measures the same requests over HTTP under load.

    .venv/bin/python bench/api_costs.py [--requests 2000] [--backends sqlite,postgres]
                                        [--profile verify]   # pyinstrument, printed
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvloop
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import event, insert

from bozor.api.app import create_app
from bozor.apikeys import service as keys_service
from bozor.db import session_scope, utcnow
from bozor.emulator import Emulator
from bozor.referrals.models import Click
from bozor.runtime import Runtime, _check_connections
from bozor.testing import bozor_settings
from bozor.users import service as users_service
from databases import PG_ADMIN, fresh_postgres, fresh_sqlite

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 visitor/"

Built = tuple[str, str, list[tuple[str, str]], bytes]  # method, path, headers, body
Build = Callable[[int], Built]  # the n-th request of a case


@dataclass
class Cost:
    name: str
    cpu_ms: float
    statements: dict[str, float]


async def call(
    app: Any, method: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> int:
    """One request through the ASGI app; its status."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # a disconnect never comes
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def reference_app(runtime: Runtime, referrer_id: int) -> FastAPI:
    """The reference points: the same redirect without and with one INSERT."""
    app = FastAPI()

    @app.get("/floor/{code}")
    async def floor(code: str) -> RedirectResponse:
        return RedirectResponse(f"https://t.me/bot?start={code}", status_code=302)

    @app.get("/insert/{code}")
    async def one_insert(code: str, request: Request) -> RedirectResponse:
        row = {
            "referrer_id": referrer_id,
            "visitor": "0" * 64,
            "is_bot": False,
            "user_agent": request.headers.get("user-agent"),
            "utm": {},
            "source": "redirect",
            "created_at": utcnow(),
        }
        async with runtime.engine.begin() as connection:
            await connection.execute(insert(Click), row)
        return RedirectResponse(f"https://t.me/bot?start={code}", status_code=302)

    return app


async def measure(
    app: Any, build: Build, requests: int, statements: Counter[str], profile: bool
) -> tuple[float, dict[str, float]]:
    """CPU ms per request and statements per request (after 200 requests of warm-up)."""
    for n in range(200):
        status = await call(app, *build(-1 - n))
        if status >= 400:
            raise RuntimeError(f"warm-up request answered {status}")
    statements.clear()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    started = time.process_time()
    for n in range(requests):
        await call(app, *build(n))
    cpu = (time.process_time() - started) * 1000 / requests
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
    return cpu, {k: round(v / requests, 2) for k, v in statements.most_common()}


async def fixtures(runtime: Runtime) -> tuple[str, list[int], list[str]]:
    """An API key and five referrers: (key, their ids, their codes)."""
    async with session_scope(runtime.session_factory) as session:
        key = await keys_service.create(session=session, name="bench", scopes=["referrals"])
        referrers = [
            (await users_service.get_or_create_external(session=session, external_id=f"r{i}"))[0]
            for i in range(5)
        ]
    return key.secret, [u.id for u in referrers], [u.referral_code for u in referrers]


def count_statements(runtime: Runtime) -> Counter[str]:
    """Statements run from now on, by their first words (and table, for SELECTs)."""
    statements: Counter[str] = Counter()

    @event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[0] == "SELECT" and "FROM" in words:
            words = ["SELECT", "…", *words[words.index("FROM") : words.index("FROM") + 2]]
        statements[" ".join(words[:4]).rstrip(",(")] += 1

    return statements


async def costs(database_url: str, args: argparse.Namespace) -> list[Cost]:
    async with Emulator() as emulator:
        settings = bozor_settings(
            emulator, database_url, auto_migrate=True, api_rate_per_key=0, api_rate_per_ip=0
        )
        runtime = Runtime.create(settings)
        try:
            await _check_connections(runtime, frozenset({"api"}))  # migrates the fresh database
            key, referrer_ids, codes = await fixtures(runtime)
            statements = count_statements(runtime)
            app = create_app(runtime, api=True, webhook=False)
            reference = reference_app(runtime, referrer_ids[0])
            await runtime.bot.me()
            gc.collect()
            gc.freeze()  # as bozor.runtime.serve does after start-up

            def healthz(n: int) -> Built:
                return "GET", "/healthz", [], b""

            def floor(n: int) -> Built:
                return "GET", f"/floor/{codes[0]}", [], b""

            def one_insert(n: int) -> Built:
                return "GET", f"/insert/{codes[0]}", [("user-agent", f"{AGENT}{n}")], b""

            def click(n: int) -> Built:
                path = f"/r/{codes[n % len(codes)]}?utm_source=bench"
                return "GET", path, [("user-agent", f"{AGENT}{n}")], b""

            def verify(n: int) -> Built:
                body = json.dumps({"code": codes[n % len(codes)], "user_id": f"u{n}"}).encode()
                headers = [("x-api-key", key), ("content-type", "application/json")]
                return "POST", "/api/v1/verify-referral", headers, body

            cases: list[tuple[str, str, Any, Build]] = [
                ("healthz", "GET /healthz", app, healthz),
                ("floor", "floor: FastAPI 302, no database", reference, floor),
                ("insert", "one INSERT in its own transaction", reference, one_insert),
                ("click", "GET /r/{code}", app, click),
                ("verify", "POST verify-referral", app, verify),
            ]
            results = []
            for short, name, target, build in cases:
                profile = args.profile == short
                cpu, counted = await measure(target, build, args.requests, statements, profile)
                results.append(Cost(name, cpu, counted))
            return results
        finally:
            await runtime.close()


async def main(args: argparse.Namespace) -> None:
    for backend in args.backends:
        database_url = (
            fresh_sqlite("costs.sqlite3")
            if backend == "sqlite"
            else await fresh_postgres("bozor_bench_costs")
        )
        if database_url is None:
            print(f"skipping {backend}: {PG_ADMIN} is unreachable", file=sys.stderr)
            continue
        print(f"{backend}: CPU ms per request (one at a time, in-process) and SQL per request")
        for cost in await costs(database_url, args):
            sql = ", ".join(f"{n:g}× {text}" for text, n in cost.statements.items())
            print(f"  {cost.name:<36} {cost.cpu_ms:6.3f}  {sql}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case, after warm-up")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgres"])
    parser.add_argument(
        "--profile",
        choices=("healthz", "floor", "insert", "click", "verify"),
        help="run this case under pyinstrument and print the profile",
    )
    os.makedirs(RESULTS, exist_ok=True)
    uvloop.run(main(parser.parse_args()))
