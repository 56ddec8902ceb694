"""ASGI middleware: a request id in and out (X-Request-ID) and HTTP metrics per route."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bozor.observability import logs
from bozor.observability.metrics import Metrics

HEADER = b"x-request-id"
access_log = logging.getLogger("bozor.http")


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == HEADER), None)
        rid = logs.accept_request_id(sent.decode("latin-1") if sent else None)
        token = logs.request_id.set(rid)
        status = 500  # what the client gets if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers: list[Any] = list(message.get("headers", []))
                headers.append((HEADER, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # The route's template, never the raw path: ids in paths would make a label per id.
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            access_log.debug("%s %s %s in %.1f ms", method, template, status, elapsed * 1000)
            logs.request_id.reset(token)
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_seconds.labels(method, template).observe(elapsed)
