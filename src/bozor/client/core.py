"""What both clients share: building requests, reading answers, deciding on retries, tokens.

The clients only send, sleep and lock, each in its own way (blocking or async).
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel

from bozor import __version__
from bozor.client.calls import Call
from bozor.client.errors import BozorApiError, BozorConnectionError
from bozor.client.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from bozor.referrals.schemas import TokenRead

T = TypeVar("T", bound=BaseModel)

DEFAULT_TIMEOUT = 10.0
USER_AGENT = f"bozor-client/{__version__}"
# Failures that happen before a request leaves: any request may be sent again after them.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
monotonic = time.monotonic  # the tokens' clock (tests move it)


class Tokens:
    """The bearer token of token mode, renewed a little before it expires."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._renew_at = 0.0

    def current(self) -> str | None:
        return self._token if monotonic() < self._renew_at else None

    def store(self, read: TokenRead) -> str:
        margin = min(60.0, read.expires_in / 10)
        self._token, self._renew_at = read.access_token, monotonic() + read.expires_in - margin
        return read.access_token

    def clear(self) -> None:
        self._token = None


class Config:
    """A client's settings, and its token in token mode."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout | None,
        use_token: bool,
        retry: RetryPolicy | None,
    ) -> None:
        if not api_key:
            raise ValueError("An API key is needed (bozor apikey create ...).")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.tokens = Tokens() if use_token else None


class Exchange(Generic[T]):
    """One logical call through its attempts: the request to send, what to do with the answer."""

    def __init__(self, config: Config, call: Call[T]) -> None:
        self.config, self.call = config, call
        self.retries = 0
        self._bearer_sent = False
        self._token_renewed = False

    def request(self, http: httpx.Client | httpx.AsyncClient, token: str | None) -> httpx.Request:
        call = self.call
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        else:
            headers["X-API-Key"] = self.config.api_key
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        content = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            content = call.body.model_dump_json().encode()
        self._bearer_sent = token is not None
        timeout = self.config.timeout
        return http.build_request(
            call.method,
            self.config.base_url + call.path,
            headers=headers,
            content=content,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )

    def after_response(self, response: httpx.Response) -> float | None:
        """Seconds to wait before sending again, or None when this answer is the last."""
        status = response.status_code
        tokens = self.config.tokens
        if status == 401 and self._bearer_sent and tokens and not self._token_renewed:
            tokens.clear()  # expired early or signed with a rotated secret: one new token
            self._token_renewed = True
            return 0.0
        if status not in RETRY_STATUSES or not self._may_retry(sent=True):
            return None
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is not None and asked > self.config.retry.max_retry_after:
            return None  # the caller decides whether to come back that much later
        return self._next(asked)

    def after_failure(self, error: httpx.TransportError) -> float:
        """Seconds to wait before sending again; raises when the failure is final."""
        if not self._may_retry(sent=not isinstance(error, NOT_SENT)):
            call = self.call
            raise BozorConnectionError(f"{call.method} {call.path}: {error!r}") from error
        return self._next(None)

    def result(self, response: httpx.Response) -> T:
        if not response.is_success:
            raise BozorApiError.from_response(response)
        return self.call.response.model_validate_json(response.content)

    def _may_retry(self, *, sent: bool) -> bool:
        return (self.call.retry_safe or not sent) and self.retries < self.config.retry.retries

    def _next(self, asked: float | None) -> float:
        pause = asked if asked is not None else self.config.retry.backoff_for(self.retries)
        self.retries += 1
        return pause
