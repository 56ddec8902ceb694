"""Which failures are worth trying again: a lost database or Redis connection.

Shared by the bot's error mapping, the webhook endpoint, the outbox and the job loop, so it
lives below all of them.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError


def is_transient(exc: BaseException) -> bool:
    """A lost database or Redis connection: the same update succeeds when tried again."""
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError)
