"""Per-user request limits, shared by every replica through Redis (moving window).

`limits.aio` with redis-py's asyncio client: the event loop never waits on a socket, unlike
slowapi's sync calls (see NOTES).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from api.scope import RATE_LIMIT, request_state
from domain.errors import RateLimitedError, ServiceUnavailableError

KEY_PREFIX = "af:ratelimit"


@dataclass(frozen=True)
class RateLimitState:
    """What the `RateLimit-*` headers say after one request."""

    limit: int
    remaining: int
    reset_after: int
    allowed: bool


def limits_storage_url(redis_url: str) -> str:
    """Our `redis://` / `rediss://` / `unix://` URL in the form `limits.aio` expects."""
    scheme, sep, rest = redis_url.partition("://")
    mapped = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}
    if not sep or scheme not in mapped:
        raise ValueError(f"unsupported Redis URL scheme {scheme!r}")
    return f"{mapped[scheme]}://{rest}"


class UserRateLimiter:
    """``per_minute`` requests per user in any 60-second window."""

    def __init__(self, redis_url: str, per_minute: int) -> None:
        self.storage = RedisStorage(
            limits_storage_url(redis_url), implementation="redispy", key_prefix=KEY_PREFIX
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.item = RateLimitItemPerMinute(per_minute)

    async def hit(self, user_id: str) -> RateLimitState:
        """Count one request of ``user_id`` unless the window is full."""
        allowed = await self.limiter.hit(self.item, user_id)
        stats = await self.limiter.get_window_stats(self.item, user_id)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return RateLimitState(self.item.amount, max(0, stats.remaining), reset_after, allowed)

    async def close(self) -> None:
        """Release the Redis connections."""
        client = getattr(self.storage.bridge, "storage", None)
        if client is not None:
            await client.aclose()


async def enforce_rate_limit(conn: HTTPConnection, user_id: str) -> None:
    """Count this request; the edge middleware turns the state into headers.

    Raises:
        RateLimitedError: the user's window is full (`Retry-After` says for how long).
        ServiceUnavailableError: Redis does not answer.
    """
    limiter: UserRateLimiter = conn.app.state.limiter
    try:
        state = await limiter.hit(user_id)
    except RedisError:
        # Fail closed: without the shared counter no replica can tell who is over the limit.
        raise ServiceUnavailableError("the rate limiter is unavailable") from None
    request_state(conn.scope)[RATE_LIMIT] = state
    if not state.allowed:
        raise RateLimitedError(
            f"more than {state.limit} requests in a minute",
            retry_after=max(1, state.reset_after),
            limit=state.limit,
        )
