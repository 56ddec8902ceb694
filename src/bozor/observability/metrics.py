"""Prometheus metrics of one Bozor process: its own registry, so several Bozor instances in one
process (tests, benchmarks) each count their own.

Counters and histograms are updated where things happen (bot and HTTP middlewares, the Telegram
session, job loops); backlog gauges are read from the database when /metrics is scraped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import utcnow
from bozor.events.models import DomainEvent
from bozor.outbox.models import OutboxMessage, OutboxStatus
from bozor.webhooks.models import DeliveryStatus, WebhookDelivery

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: a handler answers in milliseconds; a slow database or Telegram pushes it to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


# The metrics of the Bozor instance whose task this is: serve() sets it before starting its
# tasks, which inherit it; job loops count their runs through job_run() without being handed it.
current: ContextVar[Metrics | None] = ContextVar("bozor_metrics", default=None)


@contextmanager
def job_run(name: str) -> Iterator[None]:
    """Count and time one run of a job in this instance's metrics (nothing without them)."""
    metrics = current.get()
    if metrics is None:
        yield
        return
    with metrics.job(name):
        yield


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter(
            "bozor_updates",
            "Telegram updates handled, by the handler that took them and the outcome.",
            ["handler", "outcome"],
            registry=r,
        )
        self.update_seconds = Histogram(
            "bozor_update_duration_seconds",
            "Time to handle one update (middlewares, handler, commit), by handler.",
            ["handler"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.telegram_calls = Counter(
            "bozor_telegram_calls",
            "Bot API calls (each attempt), by method and result: ok, an HTTP-like error code, "
            "or network.",
            ["method", "result"],
            registry=r,
        )
        self.telegram_seconds = Histogram(
            "bozor_telegram_call_duration_seconds",
            "Time of one Bot API call attempt, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_requests = Counter(
            "bozor_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "bozor_http_request_duration_seconds",
            "Time to answer one HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.job_runs = Counter(
            "bozor_job_runs",
            "Runs of background jobs and workers' sweeps, by job and outcome (ok, error).",
            ["job", "outcome"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "bozor_job_duration_seconds",
            "Time of one job run or sweep, by job.",
            ["job"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events_published = Counter(
            "bozor_broker_events_published",
            "Domain events published to the message broker (confirmed by it).",
            registry=r,
        )
        self.backlog = Gauge(
            "bozor_backlog",
            "Work waiting in the database, read at scrape time: outbox messages pending, "
            "webhook deliveries pending, domain events not yet fanned out or not yet published "
            "to the broker.",
            ["queue"],
            registry=r,
        )
        self.backlog_due = Gauge(
            "bozor_backlog_due",
            "Of the backlog, what is due now (outbox messages and webhook deliveries).",
            ["queue"],
            registry=r,
        )

    @contextmanager
    def job(self, name: str) -> Iterator[None]:
        """Count and time one run of a job (an exception counts as an error and goes on)."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.job_runs.labels(name, "error").inc()
            raise
        else:
            self.job_runs.labels(name, "ok").inc()
        finally:
            self.job_seconds.labels(name).observe(time.perf_counter() - started)

    async def sample_backlogs(
        self, session_factory: async_sessionmaker[AsyncSession], *, broker: bool
    ) -> None:
        """Read the backlog gauges from the database (a few counts on indexed columns)."""
        now = utcnow()
        async with session_factory() as session:
            outbox_pending = OutboxMessage.status == OutboxStatus.PENDING
            deliveries_pending = WebhookDelivery.status == DeliveryStatus.PENDING
            counts = {
                "outbox": select(func.count()).where(outbox_pending),
                "webhook_deliveries": select(func.count()).where(deliveries_pending),
                "events_undispatched": select(func.count()).where(
                    DomainEvent.dispatched_at.is_(None)
                ),
            }
            if broker:
                counts["events_unpublished"] = select(func.count()).where(
                    DomainEvent.published_at.is_(None)
                )
            due = {
                "outbox": select(func.count()).where(outbox_pending, OutboxMessage.due_at <= now),
                "webhook_deliveries": select(func.count()).where(
                    deliveries_pending, WebhookDelivery.due_at <= now
                ),
            }
            for name, query in counts.items():
                self.backlog.labels(name).set(await session.scalar(query) or 0)
            for name, query in due.items():
                self.backlog_due.labels(name).set(await session.scalar(query) or 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
