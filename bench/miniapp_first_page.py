"""The Mini App's first page: what a phone downloads before it can paint the first view.

Bozor runs against the emulator (SQLite); the Mini App is opened as Telegram opens it, with
signed initData, and every response needed before the first view is painted is fetched:
the shell page, its stylesheet, the two scripts (telegram-web-app.js blocks parsing;
miniapp.js is deferred but draws the view), and the first view (`/app/api/`, the home tiles).
Photos are excluded (the first view has none). Sizes are the bytes of each response as
served (headers and body; the app sends them uncompressed), and gzip's size of each body as
a proxy behind a compressing proxy would send it.

    .venv/bin/python bench/miniapp_first_page.py
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import time

import httpx

from bozor import migrate
from bozor.db import create_engine, create_session_factory
from bozor.emulator import Emulator
from bozor.telegram_webapp import sign
from bozor.testing import TEST_BOT_TOKEN, free_port, start_bozor
from databases import fresh_sqlite

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
BUDGET = 100 * 1024  # bytes before the first paint (docs/miniapp.md)


async def main() -> dict[str, object]:
    url = fresh_sqlite("miniapp-bench.sqlite3")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    async with (
        Emulator() as emulator,
        start_bozor(emulator, url, factory, http_port=free_port()) as harness,
    ):
        base = f"http://127.0.0.1:{harness.settings.http_port}"
        user = await harness.user("Bench", language_code="en")
        init = sign(
            TEST_BOT_TOKEN,
            {"user": {"id": user, "first_name": "Bench"}, "auth_date": int(time.time())},
        )
        async with httpx.AsyncClient(base_url=base) as http:
            shell = await http.get("/app/")
            assets = re.findall(r'(?:href|src)="(/app/static/[^"]+)"', shell.text)
            responses = {"/app/": shell}
            for path in assets:
                responses[path] = await http.get(path)
            responses["/app/api/"] = await http.get(
                "/app/api/", headers={"X-Telegram-Init-Data": init}
            )
    await engine.dispose()
    rows = []
    for path, response in responses.items():
        assert response.status_code == 200, (path, response.status_code)
        head = sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 17
        rows.append(
            {
                "path": path.split("?")[0],
                "bytes": head + len(response.content),
                "gzip_body": len(gzip.compress(response.content, 6)),
            }
        )
    total = sum(int(r["bytes"]) for r in rows)  # type: ignore[call-overload]
    result: dict[str, object] = {
        "responses": rows,
        "total_bytes": total,
        "total_gzip_bodies": sum(int(r["gzip_body"]) for r in rows),  # type: ignore[call-overload]
        "budget": BUDGET,
        "within_budget": total <= BUDGET,
    }
    return result


if __name__ == "__main__":
    outcome = asyncio.run(main())
    for row in outcome["responses"]:  # type: ignore[attr-defined]
        print(f"{row['path']:<32} {row['bytes']:>7} B   gzip body {row['gzip_body']:>6} B")
    print(
        f"total {outcome['total_bytes']} B (gzip bodies {outcome['total_gzip_bodies']} B); "
        f"budget {BUDGET} B: {'OK' if outcome['within_budget'] else 'OVER'}"
    )
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "miniapp_first_page.json"), "w") as out:
        json.dump(outcome, out, indent=2)
