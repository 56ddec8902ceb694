"""What the client raises: problem details from the API, or no answer at all."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from bozor.client.retry import parse_retry_after


class BozorError(Exception):
    """Anything the Bozor client raises on purpose."""


class BozorConnectionError(BozorError):
    """The API gave no answer (connection refused, timeout...), after any retries."""


class BozorApiError(BozorError):
    """The API answered with an error: the fields of its RFC 9457 problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        type: str = "about:blank",
        retry_after: float | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code  # stable, e.g. "referral.already"; None for transport-level errors
        self.type = type
        self.retry_after = retry_after  # seconds, when the API said when to come back (429)
        self.problem = problem or {}  # the whole body, with any extra members ("errors")

    @property
    def is_client_error(self) -> bool:
        """4xx: the request should change before it is sent again (or wait, for 429)."""
        return 400 <= self.status < 500

    @classmethod
    def from_response(cls, response: httpx.Response) -> BozorApiError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        problem: dict[str, Any] = body if isinstance(body, dict) else {}
        kind = BozorClientError if 400 <= status < 500 else BozorServerError
        detail, code = problem.get("detail"), problem.get("code")
        return kind(
            status,
            str(problem.get("title") or _phrase(status)),
            str(detail) if detail is not None else (response.text[:200] or None),
            code=str(code) if code else None,
            type=str(problem.get("type", "about:blank")),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            problem=problem,
        )


class BozorClientError(BozorApiError):
    """A 4xx answer: not found, conflict, invalid input, bad credentials, rate limited."""


class BozorServerError(BozorApiError):
    """A 5xx (or otherwise unexpected) answer."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
