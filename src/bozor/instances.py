"""Bozor instances as separate processes in webhook mode, for tests and benchmarks of several
instances: started like an operator starts them (`bozor run`), killed like a crash kills them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from bozor.testing import free_port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the instance gets SIGKILL when the process that started it dies (a test run
    stopped by a timeout leaves no instance behind)."""
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class InstanceError(Exception):
    """An instance did not come up; `str()` ends with its log."""


@dataclass
class Instance:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/telegram/webhook"

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL: no graceful anything, like a crash or an OOM kill."""
        if self.alive:
            self.process.kill()

    async def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait (SIGKILL after `timeout`); returns the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def start_instance(
    env: dict[str, str], folder: Path, *, name: str, ready_timeout: float = 120
) -> Instance:
    """`bozor run` on a free port in webhook mode with `env`; returns once /readyz says ready
    and the webhook is set (the log shows it)."""
    port = free_port()
    log = folder / f"{name}.log"
    full_env = {
        **os.environ,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "DATABASE_POOL_SIZE": "10",  # several instances on one server's connections
        **env,
        "LOG_LEVEL": "INFO",  # the "webhook mode" line tells it is ready
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bozor",
            "run",
            env=full_env,
            cwd=folder,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    instance = Instance(port, process, log)
    try:
        async with asyncio.timeout(ready_timeout), httpx.AsyncClient() as client:
            while True:
                if not instance.alive:
                    raise InstanceError(f"{name} exited with {process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    ready = (await client.get(f"{instance.url}/readyz")).status_code == 200
                    if ready and b"webhook mode" in log.read_bytes():
                        return instance
                await asyncio.sleep(0.1)
    except (TimeoutError, InstanceError) as exc:
        instance.kill()
        await process.wait()
        raise InstanceError(f"{name} did not start ({exc}):\n{log.read_text()[-3000:]}") from None
