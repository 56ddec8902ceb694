"""The load generator of bench/api_throughput.py, run in its own process.

N workers, each on its own keep-alive connection (aiohttp's client on uvloop), send requests
back to back for --warmup + --duration seconds. Only requests that complete after the
warm-up are counted. It prints `measuring` when the warm-up ends, `done` at the end, then one
line of JSON: requests, seconds, req/s, p50/p99 latency, statuses, errors, and the share of
a core this process used while measuring (to show the generator was not the bottleneck).

Scenarios:
  bare    GET /
  health  GET /healthz (Bozor's app without the database: the framework's share)
  click   GET /r/{code}?utm_source=bench, a different user agent per request
  verify  POST /api/v1/verify-referral, a new user_id per request (a real sign-up)

With --record-agents (the shutdown check) the user agent of every 302 is returned, warm-up
included, and connection errors are retried after a short pause instead of stopping.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvloop

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 visitor/"


@dataclass
class Tally:
    """What the workers saw; latencies only of requests completed while measuring."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    agents_302: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, str] | None = None


def build(args: argparse.Namespace, n: int) -> Request:
    """The n-th request of the scenario."""
    codes: list[str] = args.codes
    if args.scenario == "bare":
        return Request("GET", "/", {})
    if args.scenario == "health":
        return Request("GET", "/healthz", {})
    if args.scenario == "click":
        agent = f"{AGENT}{args.tag}-{n}"
        return Request("GET", f"/r/{codes[n % len(codes)]}?utm_source=bench", {"User-Agent": agent})
    if args.scenario == "verify":
        body = {"code": codes[n % len(codes)], "user_id": f"{args.tag}-{n}"}
        return Request("POST", "/api/v1/verify-referral", {"X-API-Key": args.api_key}, body)
    raise ValueError(args.scenario)


async def worker(
    session: aiohttp.ClientSession,
    args: argparse.Namespace,
    numbers: itertools.count[int],
    window: tuple[float, float],
    tally: Tally,
) -> None:
    measure_from, end = window
    while (now := time.perf_counter()) < end:
        request = build(args, next(numbers))
        try:
            async with session.request(
                request.method,
                args.url + request.path,
                headers=request.headers,
                json=request.body,
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            tally.errors[type(exc).__name__] += 1
            if args.record_agents:
                await asyncio.sleep(0.005)  # the server is going away: do not spin
            continue
        done = time.perf_counter()
        if args.record_agents and status == 302:
            tally.agents_302.append(request.headers["User-Agent"])
        if args.record_agents or (done >= measure_from and done <= end):
            tally.statuses[status] += 1
            if not args.record_agents:
                tally.latencies.append(done - now)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        measure_from = start + (0 if args.record_agents else args.warmup)
        end = measure_from + args.duration
        numbers = itertools.count()
        workers = [
            asyncio.create_task(worker(session, args, numbers, (measure_from, end), tally))
            for _ in range(args.concurrency)
        ]
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        print("measuring", flush=True)
        cpu_from = time.process_time()
        await asyncio.gather(*workers)
        cpu = time.process_time() - cpu_from
        seconds = time.perf_counter() - measure_from
        print("done", flush=True)
    requests = sum(tally.statuses.values())
    errors = sum(n for status, n in tally.statuses.items() if not 200 <= status < 400)
    return {
        "requests": requests,
        "seconds": args.duration,
        "rps": requests / args.duration,
        "p50_ms": percentile(tally.latencies, 0.50) * 1000,
        "p99_ms": percentile(tally.latencies, 0.99) * 1000,
        "errors": errors + sum(tally.errors.values()),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "exceptions": dict(tally.errors),
        "cpu_share": cpu / seconds,
        "agents_302": tally.agents_302,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--url", required=True, help="http://host:port of the server")
    parser.add_argument("--scenario", choices=("bare", "health", "click", "verify"), required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--codes", type=lambda text: text.split(","), default=[])
    parser.add_argument("--api-key", default="")
    parser.add_argument("--tag", default="bench", help="makes user agents and user ids unique")
    parser.add_argument("--record-agents", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(uvloop.run(run(parse(sys.argv[1:])))), flush=True)
