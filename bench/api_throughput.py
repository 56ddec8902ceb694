"""Benchmark: the referral REST API against a bare ASGI hello-world, on this machine, in one run.

Servers, one after the other, each in its own process:
  1. a bare ASGI app under uvicorn with Bozor's options (bench/bare_asgi.py): GET /;
  2. Bozor's API (`bozor api`) on SQLite, then on PostgreSQL (--backends):
     click     GET /r/{code} (records a click, answers 302) over a few dozen real codes,
               a different user agent per request;
     verify    POST /api/v1/verify-referral with a new user_id per request (a real sign-up)
               against a few real codes.
Bozor's GET /healthz is measured once too: the app and FastAPI without the database.
The load comes from bench/loadgen.py in another process (the same generator for every
scenario): --concurrency keep-alive connections for --warmup + --duration seconds, warm-up
excluded. Reported per scenario: requests, req/s, the ratio to the bare app, p50/p99
latency, errors (non-2xx/3xx and failed connections), CPU of the server per request, and how
busy the generator and everything else on the machine were (to spot a busy machine).

Then, per backend, the clean-shutdown check: clicks at full speed, SIGTERM to the server in
the middle; every 302 the generator received must have its row in `clicks` (each request has
a unique user agent, so rows and answers are matched one by one).

    .venv/bin/python bench/api_throughput.py [--duration 15] [--backends sqlite,postgres]

--profile samples the server with py-spy while measuring, writes
bench/results/profile-<backend>-<scenario>.txt (folded stacks: flamegraph.pl or speedscope
read them) and prints the heaviest functions; figures from such a run are lower.
bench/api_costs.py breaks the cost of each request down without HTTP or a load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import asyncpg
import psutil
import uvicorn
from sqlalchemy import text

from bozor.db import create_engine
from bozor.testing import free_port
from databases import PG_ADMIN, fresh_postgres, fresh_sqlite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RESULTS = os.path.join(BENCH, "results")
TOKEN = "8000000004:AAbench-bozor-api-token-000000000000"
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 visitor/"
VERIFY_CODES = 5  # "a few real codes" for sign-ups; clicks use all of --codes
SCENARIOS = {
    "health": "GET /healthz (no database)",
    "click": "GET /r/{code}",
    "verify": "POST verify-referral",
}


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float  # CPU of the server process (and of PostgreSQL) per request
    db_cpu_ms: float | None
    server_share: float  # of a core, while measuring
    generator_share: float
    others_share: float  # CPU used by everything else on the machine, in cores
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ShutdownCheck:
    backend: str
    answered_302: int
    rows: int
    lost: int  # 302s without a row
    unanswered_rows: int  # rows whose answer never arrived (not a loss: the click happened)
    exit_code: int | None
    exit_seconds: float
    other_answers: dict[str, int]

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.answered_302 > 0


# ---------------------------------------------------------------- processes and CPU


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a server: this checkout's sources first (children run elsewhere, so a
    relative PYTHONPATH would not find them, and an installed bozor may be another checkout)."""
    paths = [os.path.join(ROOT, "src")]
    paths += [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


class Server:
    """A server process of the benchmark; its stderr goes to bench/results/<name>.log."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, url: str) -> None:
        self.name, self.process, self.url = name, process, url
        self.ps = psutil.Process(process.pid)

    @classmethod
    async def start(cls, name: str, args: list[str], env: dict[str, str], port: int) -> Server:
        with open(os.path.join(RESULTS, f"{name}.log"), "wb") as log:  # noqa: ASYNC230 (instant)
            process = await asyncio.create_subprocess_exec(
                *args,
                env=child_env(env),
                cwd=RESULTS,  # no stray .env or config file is read
                stdout=log,
                stderr=log,
            )
        server = cls(name, process, f"http://127.0.0.1:{port}")
        await server.wait_ready()
        return server

    async def wait_ready(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if self.process.returncode is not None:
                    break
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: see bench/results/{self.name}.log")

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return None
        return self.process.returncode


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process (the server's connections do the SQL work)."""
    found = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in ("postgres", "postmaster") and process.info["cpu_times"]:
            found[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return found


@dataclass
class CpuSnapshot:
    at: float
    busy: float  # the whole machine, core-seconds
    server: float
    generator: float
    postgres: dict[int, float]

    @classmethod
    def take(cls, server: Server, generator: psutil.Process) -> CpuSnapshot:
        times = psutil.cpu_times()
        busy = times.user + times.nice + times.system + times.irq + times.softirq
        generator_times = generator.cpu_times()
        return cls(
            time.perf_counter(),
            busy,
            server.cpu(),
            generator_times.user + generator_times.system,
            postgres_cpu(),
        )


def shares(before: CpuSnapshot, after: CpuSnapshot, uses_postgres: bool) -> dict[str, float]:
    """CPU over the window, in cores: server, generator, PostgreSQL (when the server uses it;
    otherwise PostgreSQL's work belongs to someone else), everything else."""
    wall = after.at - before.at
    server = after.server - before.server
    generator = after.generator - before.generator
    database = sum(
        after.postgres[p] - before.postgres[p]
        for p in after.postgres.keys() & before.postgres.keys()
        if uses_postgres
    )
    others = max(0.0, (after.busy - before.busy) - server - generator - database)
    return {
        "wall": wall,
        "server": server / wall,
        "generator": generator / wall,
        "database": database / wall,
        "others": others / wall,
    }


# ---------------------------------------------------------------- load


async def expect(stream: asyncio.StreamReader, word: str) -> None:
    line = (await stream.readline()).decode().strip()
    if line != word:
        raise RuntimeError(f"load generator said {line!r}, expected {word!r}")


async def start_generator(
    server: Server, scenario: str, *options: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        os.path.join(BENCH, "loadgen.py"),
        "--url",
        server.url,
        "--scenario",
        scenario,
        *options,
        stdout=asyncio.subprocess.PIPE,
        limit=2**28,  # the shutdown check's answer lists every user agent that got a 302
    )


async def measure(
    args: argparse.Namespace,
    server: Server,
    name: str,
    scenario: str,
    options: list[str],
    uses_postgres: bool = False,
    profile_to: str | None = None,
) -> Result:
    """One scenario against a running server."""
    generator = await start_generator(
        server,
        scenario,
        "--concurrency",
        str(args.concurrency),
        "--warmup",
        str(args.warmup),
        "--duration",
        str(args.duration),
        *options,
    )
    assert generator.stdout is not None
    await expect(generator.stdout, "measuring")
    probe = psutil.Process(generator.pid)
    before = CpuSnapshot.take(server, probe)
    spy = await start_profiler(server, args.duration, profile_to) if profile_to else None
    await expect(generator.stdout, "done")
    after = CpuSnapshot.take(server, probe)
    load = json.loads(await generator.stdout.readline())
    await generator.wait()
    if spy is not None:
        await spy.wait()
    cpu = shares(before, after, uses_postgres)
    requests = max(1, load["requests"])
    database = cpu["database"] * cpu["wall"] * 1000 / requests
    return Result(
        name=name,
        requests=load["requests"],
        rps=load["rps"],
        p50_ms=load["p50_ms"],
        p99_ms=load["p99_ms"],
        errors=load["errors"],
        server_cpu_ms=cpu["server"] * cpu["wall"] * 1000 / requests,
        db_cpu_ms=database if uses_postgres else None,
        server_share=cpu["server"],
        generator_share=load["cpu_share"],
        others_share=cpu["others"],
        detail={"statuses": load["statuses"], "exceptions": load["exceptions"]},
    )


async def start_profiler(server: Server, seconds: float, output: str) -> asyncio.subprocess.Process:
    py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(server.process.pid), "--format", "raw",
        "--rate", "100", "--duration", str(max(1, int(seconds))),
        "--output", output,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: str, top: int = 20) -> str:
    """Where request handling spends its samples: the inclusive share of each function among
    the samples taken inside a request (uvicorn's run_asgi), wrappers common to all left out."""
    inclusive: Counter[str] = Counter()
    total = in_requests = 0
    with open(path) as folded:
        for line in folded:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            total += int(count)
            if not any(frame.startswith("RequestResponseCycle.run_asgi") for frame in frames):
                continue
            in_requests += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
    heavy = [(f, n) for f, n in inclusive.most_common() if n < 0.9 * in_requests][:top]
    lines = [
        f"{os.path.relpath(path, ROOT)}: {total} samples, {in_requests / max(1, total):.0%} "
        "inside request handling; share of those:"
    ]
    lines += [f"{n / in_requests:6.1%}  {frame}" for frame, n in heavy]
    return "\n".join(lines)


# ---------------------------------------------------------------- the runs


async def run_bare(args: argparse.Namespace) -> Result:
    port = free_port()
    script = os.path.join(BENCH, "bare_asgi.py")
    server = await Server.start("bare", [sys.executable, script, "--port", str(port)], {}, port)
    try:
        return await measure(args, server, "bare ASGI GET / (baseline)", "bare", [])
    finally:
        await server.stop()


async def create_api_key(env: dict[str, str]) -> str:
    """A referrals-scoped key through the CLI (which also migrates the fresh database)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "apikey", "create", "bench", "--scope", "referrals",
        env=child_env(env), cwd=RESULTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    secrets = [line for line in out.decode().splitlines() if line.startswith("bzr_")]
    if process.returncode != 0 or not secrets:
        raise RuntimeError(f"bozor apikey create failed: {err.decode()}")
    return secrets[0]


async def referral_codes(server: Server, key: str, count: int) -> list[str]:
    """`count` referrers (integrator users), each with the code of their link."""
    codes = []
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as session:
        for i in range(count):
            body = {"user_id": f"referrer-{i:03d}"}
            async with session.post(server.url + "/api/v1/generate-link", json=body) as response:
                response.raise_for_status()
                codes.append((await response.json())["code"])
    return codes


async def click_agents(database_url: str, tag: str) -> set[str]:
    """User agents of the clicks recorded with this tag (each request had its own)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT user_agent FROM clicks WHERE user_agent LIKE :pattern"),
                {"pattern": f"{AGENT}{tag}-%"},
            )
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def shutdown_check(
    args: argparse.Namespace, server: Server, backend: str, database_url: str, codes: list[str]
) -> ShutdownCheck:
    """Clicks at full speed, SIGTERM in the middle: every 302 must have its row."""
    tag = f"{backend}-shutdown"
    generator = await start_generator(
        server, "click", "--record-agents", "--concurrency", str(args.concurrency),
        "--duration", str(args.shutdown_after + 4), "--codes", ",".join(codes), "--tag", tag,
    )  # fmt: skip
    assert generator.stdout is not None
    await expect(generator.stdout, "measuring")
    await asyncio.sleep(args.shutdown_after)
    signalled = time.perf_counter()
    exit_code = await server.stop(signal.SIGTERM)
    exit_seconds = time.perf_counter() - signalled
    await expect(generator.stdout, "done")
    load = json.loads(await generator.stdout.readline())
    await generator.wait()
    answered = set(load["agents_302"])
    rows = await click_agents(database_url, tag)
    others = {k: v for k, v in load["statuses"].items() if k != "302"}
    return ShutdownCheck(
        backend=backend,
        answered_302=len(load["agents_302"]),
        rows=len(rows),
        lost=len(answered - rows),
        unanswered_rows=len(rows - answered),
        exit_code=exit_code,
        exit_seconds=exit_seconds,
        other_answers={**others, **load["exceptions"]},
    )


async def run_bozor(
    args: argparse.Namespace, emulator_url: str, backend: str, database_url: str, with_health: bool
) -> tuple[list[Result], ShutdownCheck]:
    port = free_port()
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator_url,
        "DATABASE_URL": database_url,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "API_RATE_PER_KEY": "0",  # measure the app, not the rate limiter
        "API_RATE_PER_IP": "0",
    }
    key = await create_api_key(env)
    command = [sys.executable, "-m", "bozor", "api"]
    server = await Server.start(f"bozor-{backend}", command, env, port)
    try:
        codes = await referral_codes(server, key, args.codes)
        results = []
        scenarios = [
            ("click", ["--codes", ",".join(codes), "--tag", f"{backend}-click"]),
            (
                "verify",
                [
                    "--codes",
                    ",".join(codes[:VERIFY_CODES]),
                    "--api-key",
                    key,
                    "--tag",
                    f"{backend}-verify",
                ],
            ),
        ]
        if with_health:
            scenarios.insert(0, ("health", []))
        for scenario, options in scenarios:
            name = f"{backend}: {SCENARIOS[scenario]}"
            profile = (
                os.path.join(RESULTS, f"profile-{backend}-{scenario}.txt") if args.profile else None
            )
            results.append(
                await measure(args, server, name, scenario, options, backend == "postgres", profile)
            )
            if profile:
                print(summarise_profile(profile), file=sys.stderr)
        check = await shutdown_check(args, server, backend, database_url, codes)
    finally:
        await server.stop()
    return results, check


# ---------------------------------------------------------------- report


def cpu_model() -> str:
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    memory = psutil.virtual_memory().total / 2**30
    return {
        "cpu": f"{cpu_model()}, {psutil.cpu_count()} cores, {memory:.0f} GiB",
        "python": f"Python {platform.python_version()}, uvicorn {uvicorn.__version__} "
        f"({http}), uvloop",
        "sqlite": f"SQLite {sqlite3.sqlite_version}",
    }


async def postgres_version() -> str | None:
    try:
        connection = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        version = connection.get_server_version()
        minor = version.micro if version.major >= 10 else version.minor  # 15.0.20 means 15.20
        return f"PostgreSQL {version.major}.{minor}"
    finally:
        await connection.close()


def table(results: list[Result]) -> Iterator[str]:
    """One line per scenario; "vs bare" by req/s, and by the server's CPU per request (what
    one core could serve: steadier than req/s when other processes share the machine)."""
    bare = results[0]
    yield (
        f"{'scenario':<34} {'requests':>8} {'req/s':>6} {'vs bare':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'CPU ms/req':>10} {'by CPU':>6} "
        f"{'server':>6} {'gen':>4} {'others':>6}"
    )
    for r in results:
        cpu = f"{r.server_cpu_ms:.2f}" + (f"+{r.db_cpu_ms:.2f}" if r.db_cpu_ms is not None else "")
        yield (
            f"{r.name:<34} {r.requests:>8} {r.rps:>6.0f} {r.rps / bare.rps:>7.0%} "
            f"{r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.errors:>6} {cpu:>10} "
            f"{bare.server_cpu_ms / r.server_cpu_ms:>6.0%} {r.server_share:>6.0%} "
            f"{r.generator_share:>4.0%} {r.others_share:>6.2f}"
        )
    busiest = max(r.others_share for r in results)
    if busiest > 0.25:
        yield (
            f"warning: other processes kept up to {busiest:.1f} of the {psutil.cpu_count()} "
            "cores busy while measuring; req/s and latencies suffer, compare CPU ms/req"
        )


def shutdown_lines(checks: list[ShutdownCheck]) -> Iterator[str]:
    for c in checks:
        verdict = "PASS" if c.passed else "FAIL"
        yield (
            f"shutdown ({c.backend}): {verdict} — {c.answered_302} redirects answered, "
            f"{c.rows} click rows, {c.lost} answered without a row, {c.unanswered_rows} rows "
            f"whose answer was cut off; exit code {c.exit_code} after {c.exit_seconds:.1f} s; "
            f"other outcomes {c.other_answers}"
        )


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    results: list[Result],
    checks: list[ShutdownCheck],
) -> str:
    lines = [
        f"{info['cpu']}; {info['python']}; "
        + ", ".join(v for k, v in info.items() if k in ("sqlite", "postgres")),
        f"{args.concurrency} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured per scenario. CPU ms/req: the server process "
        "(+ PostgreSQL's); by CPU: the bare app's CPU per request over this one; server, gen: "
        "share of a core; others: cores busy with other processes",
        *table(results),
        *shutdown_lines(checks),
    ]
    return "\n".join(lines)


async def main(
    args: argparse.Namespace,
) -> tuple[dict[str, str], list[Result], list[ShutdownCheck]]:
    info = machine()
    results = [await run_bare(args)]
    checks: list[ShutdownCheck] = []
    emulator_port = free_port()
    emulator = await Server.start(
        "emulator",
        [sys.executable, "-m", "bozor", "emulator", "--port", str(emulator_port)],
        {},
        emulator_port,
    )
    try:
        for backend in args.backends:
            database_url = (
                fresh_sqlite("api.sqlite3")
                if backend == "sqlite"
                else await fresh_postgres("bozor_bench_api")
            )
            if database_url is None:
                print(f"skipping {backend}: {PG_ADMIN} is unreachable", file=sys.stderr)
                continue
            if backend == "postgres":
                info["postgres"] = await postgres_version() or "PostgreSQL"
            measured, check = await run_bozor(args, emulator.url, backend, database_url, not checks)
            results += measured
            checks.append(check)
    finally:
        await emulator.stop(signal.SIGINT)
    return info, results, checks


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--duration", type=float, default=15.0, help="measured seconds per scenario"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--codes", type=int, default=40, help="referrers whose links are clicked")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "postgres"])
    parser.add_argument("--shutdown-after", type=float, default=3.0, help="SIGTERM after (s)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server while measuring")
    arguments = parser.parse_args()
    unknown = set(arguments.backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    return arguments


if __name__ == "__main__":
    import uvloop

    arguments = parse()
    os.makedirs(RESULTS, exist_ok=True)
    information, measured, shutdown = uvloop.run(main(arguments))
    text_report = report(arguments, information, measured, shutdown)
    print(text_report)
    with open(os.path.join(RESULTS, "api_throughput.json"), "w") as out:
        json.dump(
            {
                "report": text_report,
                "machine": information,
                "results": [asdict(r) for r in measured],
                "shutdown": [{**asdict(c), "passed": c.passed} for c in shutdown],
            },
            out,
            indent=2,
        )
