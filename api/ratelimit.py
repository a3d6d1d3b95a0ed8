"""Request limits, shared by every replica through Redis (moving window): per user once
authenticated, and per client address before that (failed authentications, anonymous routes),
so a flood of bad tokens or probes is refused before it costs a signature check.

`limits.aio` with redis-py's asyncio client: the event loop never waits on a socket, unlike
slowapi's sync calls (see NOTES).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection
from starlette.types import Scope

from api.scope import RATE_LIMIT, request_state
from domain.errors import RateLimitedError, ServiceUnavailableError
from engine.logs import get_logger

log = get_logger(__name__)

KEY_PREFIX = "af:ratelimit"
# `limits`' moving window (acquire_moving_window.lua, then moving_window.lua) in one script on
# its own list and key: a hit and the window the `RateLimit-*` headers tell cost one round
# trip instead of two (the API's GET spent more CPU in its Redis calls than anywhere else).
# Returns {acquired, entries in the window, the oldest entry's time}.
_HIT_AND_COUNT = """
local timestamp = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local target = timestamp - expiry
local acquired = 0
local entry = redis.call('lindex', KEYS[1], limit - 1)
if not (entry and tonumber(entry) >= target) then
    redis.call('lpush', KEYS[1], timestamp)
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], expiry)
    acquired = 1
end
local low, high, found = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('lindex', KEYS[1], mid))
    if value and value >= target then
        found = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if found then
    return {acquired, found + 1, redis.call('lindex', KEYS[1], found)}
end
return {acquired, 0}
"""


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
    """``per_minute`` requests per user in any 60-second window, and per client address
    ``auth_failures_per_minute`` failed authentications and ``anonymous_per_minute``
    requests to routes that need no token."""

    def __init__(
        self,
        redis_url: str,
        per_minute: int,
        *,
        auth_failures_per_minute: int = 30,
        anonymous_per_minute: int = 600,
    ) -> None:
        self.storage = RedisStorage(
            limits_storage_url(redis_url), implementation="redispy", key_prefix=KEY_PREFIX
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.item = RateLimitItemPerMinute(per_minute)
        # Namespaces keep an address from sharing a window with a user id that spells it.
        self.auth_failures = RateLimitItemPerMinute(auth_failures_per_minute, namespace="authfail")
        self.anonymous = RateLimitItemPerMinute(anonymous_per_minute, namespace="anonymous")
        bridge: Any = self.storage.bridge  # the redis-py bridge (implementation="redispy")
        self._hit_and_count = bridge.get_connection().register_script(_HIT_AND_COUNT)

    async def hit(self, user_id: str, item: RateLimitItem | None = None) -> RateLimitState:
        """Count one request of ``user_id`` (an address, for ``item``) unless its window is
        full: one Redis round trip, on the window `limits` keeps (``peek`` reads it)."""
        item = item or self.item
        key = self.storage.bridge.prefixed_key(item.key_for(user_id))
        now = time.time()
        reply = await self._hit_and_count([key], [now, item.amount, item.get_expiry()])
        count = int(reply[1])
        oldest = float(reply[2]) if count else now
        reset_after = max(0, math.ceil(oldest + item.get_expiry() - time.time()))
        return RateLimitState(item.amount, max(0, item.amount - count), reset_after, bool(reply[0]))

    async def peek(self, item: RateLimitItem, key: str) -> RateLimitState:
        """The window of ``key`` without counting a request (`allowed`: room is left)."""
        return await self._state(item, key, None)

    async def _state(self, item: RateLimitItem, key: str, allowed: bool | None) -> RateLimitState:
        stats = await self.limiter.get_window_stats(item, key)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        room = stats.remaining > 0 if allowed is None else allowed
        return RateLimitState(item.amount, max(0, stats.remaining), reset_after, room)

    async def close(self) -> None:
        """Release the Redis connections."""
        client = getattr(self.storage.bridge, "storage", None)
        if client is not None:
            await client.aclose()


def client_address(scope: Scope, trusted_proxies: Collection[str]) -> str:
    """Who is calling, as the peer of this connection (behind Serve: its proxy's peer).

    `X-Forwarded-For` is believed only when the peer is one of ``trusted_proxies``; then the
    nearest hop that is not itself a trusted proxy is the client. Anyone can write the header.
    """
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [
        hop.strip()
        for value in HTTPConnection(scope).headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    return next((hop for hop in reversed(forwarded) if hop not in trusted_proxies), peer)


async def _counted(state_of: Callable[[], Awaitable[RateLimitState]]) -> RateLimitState:
    try:
        return await state_of()
    except RedisError as exc:
        # Fail closed: without the shared counter no replica can tell who is over the limit.
        # The cause goes to the server log only (it may name the Redis host).
        log.warning("rate limiter unavailable", error=type(exc).__name__, detail=str(exc)[:200])
        raise ServiceUnavailableError("the rate limiter is unavailable") from None


def _refuse(state: RateLimitState, what: str) -> RateLimitedError:
    return RateLimitedError(
        f"more than {state.limit} {what} in a minute",
        retry_after=max(1, state.reset_after),
        limit=state.limit,
    )


async def refuse_blocked_address(conn: HTTPConnection, address: str) -> None:
    """Refuse, before any token is checked, an address over its failed-authentication limit.

    Raises:
        RateLimitedError: too many failed authentications from ``address`` lately.
    """
    limiter: UserRateLimiter = conn.app.state.limiter
    state = await _counted(lambda: limiter.peek(limiter.auth_failures, address))
    if not state.allowed:
        raise _refuse(state, "failed authentications")


async def count_failed_authentication(conn: HTTPConnection, address: str) -> None:
    """Count one failed authentication of ``address`` (the caller still answers 401)."""
    limiter: UserRateLimiter = conn.app.state.limiter
    await _counted(lambda: limiter.hit(address, limiter.auth_failures))


async def enforce_anonymous_limit(conn: HTTPConnection) -> None:
    """Count a request to a route that needs no token against its client address.

    Raises:
        RateLimitedError: the address's window is full.
    """
    limiter: UserRateLimiter = conn.app.state.limiter
    address = client_address(conn.scope, conn.app.state.services.api.trusted_proxies)
    try:
        state = await limiter.hit(address, limiter.anonymous)
    except RedisError:
        # Fail open, unlike the user limit: these are the probes that report Redis is down,
        # and a liveness probe refused for it would restart a healthy process.
        return
    if not state.allowed:
        raise _refuse(state, "requests")


async def enforce_rate_limit(conn: HTTPConnection, user_id: str) -> None:
    """Count this request; the edge middleware turns the state into headers.

    Raises:
        RateLimitedError: the user's window is full (`Retry-After` says for how long).
        ServiceUnavailableError: Redis does not answer.
    """
    limiter: UserRateLimiter = conn.app.state.limiter
    state = await _counted(lambda: limiter.hit(user_id))
    request_state(conn.scope)[RATE_LIMIT] = state
    if not state.allowed:
        raise _refuse(state, "requests")
