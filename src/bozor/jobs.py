"""The loop every background sweep runs in: one pass, then a pause until the next or `stop`.

A pass that fails is logged as "<name> sweep failed" and counted in `bozor_job_runs_total`;
the next pass runs as usual, so a lost database connection costs one interval, not the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bozor.observability.metrics import job_run
from bozor.transient import is_transient

log = logging.getLogger(__name__)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def repeat(
    name: str, interval: float, stop: asyncio.Event, sweep: Callable[[], Awaitable[object]]
) -> None:
    """Run `sweep` every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        await run_once(name, sweep)
        await pause(stop, interval)


async def run_once(name: str, sweep: Callable[[], Awaitable[object]]) -> bool:
    """One pass of `sweep`, counted; returns whether it succeeded."""
    try:
        with job_run(name):
            await sweep()
    except Exception as exc:
        if is_transient(exc):  # expected when the database or Redis restarts: no traceback
            log.warning("%s sweep failed on a lost connection (%r); it runs again", name, exc)
        else:
            log.exception("%s sweep failed; it runs again", name)
        return False
    return True
