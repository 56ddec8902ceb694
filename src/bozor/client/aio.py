"""AsyncBozorClient: the referral API from asyncio code."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self, TypeVar

import httpx
from pydantic import BaseModel

from bozor.client import calls
from bozor.client.core import DEFAULT_TIMEOUT, Config, Exchange
from bozor.client.retry import RetryPolicy
from bozor.referrals.schemas import (
    ClaimRead,
    ClickRead,
    LinkRead,
    ReferralRead,
    RewardsRead,
    StatsRead,
)

T = TypeVar("T", bound=BaseModel)


class AsyncBozorClient:
    """The referral API of a Bozor server, for asyncio code.

    `use_token=True` exchanges the API key for a short-lived bearer token and renews it before
    it expires; otherwise every request carries the key. Requests that are safe to repeat are
    retried on connection errors, 429, 502, 503 and 504 (see RetryPolicy). Errors raise
    BozorApiError (BozorClientError for 4xx, BozorServerError for 5xx) or BozorConnectionError.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        http_client: httpx.AsyncClient | None = None,
        use_token: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._config = Config(base_url, api_key, timeout=timeout, use_token=use_token, retry=retry)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout or DEFAULT_TIMEOUT)
        self._token_lock = asyncio.Lock()

    async def generate_link(self, *, user_id: str, campaign: str | None = None) -> LinkRead:
        """The user's referral link (created on first use; the same link every time), or
        their link for a campaign (by its slug)."""
        return await self._send(calls.generate_link(user_id=user_id, campaign=campaign))

    async def track_click(
        self,
        *,
        code: str,
        ip: str,
        user_agent: str = "",
        referer: str | None = None,
        utm: dict[str, str] | None = None,
    ) -> ClickRead:
        """Report a click that your own site received on a referral link."""
        call = calls.track_click(code=code, ip=ip, user_agent=user_agent, referer=referer, utm=utm)
        return await self._send(call)

    async def verify_referral(
        self,
        *,
        code: str,
        user_id: str,
        click_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> ReferralRead:
        """A user signed up through `code`: record the referral (once, ever)."""
        call = calls.verify_referral(
            code=code, user_id=user_id, click_id=click_id, idempotency_key=idempotency_key
        )
        return await self._send(call)

    async def referral_stats(self, *, user_id: str) -> StatsRead:
        """Live figures of one referrer."""
        return await self._send(calls.referral_stats(user_id=user_id))

    async def rewards(self, *, user_id: str) -> RewardsRead:
        """What a user has earned, and their bonus balance."""
        return await self._send(calls.rewards(user_id=user_id))

    async def claim_reward(
        self, *, user_id: str, reward_id: int, idempotency_key: str | None = None
    ) -> ClaimRead:
        """Claim a reward for its owner (once); its points join the user's balance."""
        call = calls.claim_reward(
            user_id=user_id, reward_id=reward_id, idempotency_key=idempotency_key
        )
        return await self._send(call)

    async def close(self) -> None:
        """Close the HTTP client, unless it was given to the constructor."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncBozorClient({self._config.base_url!r})"

    async def _send(self, call: calls.Call[T]) -> T:
        exchange = Exchange(self._config, call)
        while True:
            request = exchange.request(self._http, await self._bearer(call))
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                await asyncio.sleep(exchange.after_failure(error))
                continue
            pause = exchange.after_response(response)
            if pause is None:
                return exchange.result(response)
            await asyncio.sleep(pause)

    async def _bearer(self, call: calls.Call[T]) -> str | None:
        tokens = self._config.tokens
        if tokens is None or call.key_only:
            return None
        async with self._token_lock:
            return tokens.current() or tokens.store(await self._send(calls.token()))
