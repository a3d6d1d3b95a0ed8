"""Redis clients that wait for a free connection and ride out a Redis restart.

redis-py's default pool raises `MaxConnectionsError` when hundreds of coroutines (one per
in-flight cell) want a connection at once; a blocking pool queues them instead. A client
built on an explicit pool, or by `from_url`, does not retry at all: one restart of the
embedded server (~0.3 s) would fail every command in flight.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

DEFAULT_MAX_CONNECTIONS = 64
# 0.05, 0.1, 0.2 … capped at 1 s: ~12 s of reconnecting, enough for the embedded server to
# be restarted from its AOF even on a loaded machine.
RECONNECT_ATTEMPTS = 15


def reconnecting() -> Retry:
    """The retry policy of every sync client of ours: reconnect on connection errors and
    timeouts. A command retried after a lost reply may run twice; our writes are idempotent
    (results are keyed by cell, dedupe keys by call)."""
    return Retry(_backoff(), RECONNECT_ATTEMPTS)


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=1.0, base=0.05)


def sync_redis(url: str, *, decode_responses: bool = True) -> redis.Redis:
    """A `redis.Redis` for `url` with the reconnecting retry policy."""
    return redis.Redis.from_url(url, decode_responses=decode_responses, retry=reconnecting())


def async_redis(
    url: str,
    *,
    decode_responses: bool = False,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    socket_timeout: float | None = 30.0,
) -> Any:
    """A `redis.asyncio.Redis` on a blocking pool of at most `max_connections`.

    `socket_timeout` must exceed any `BLOCK` the client uses: redis-py 8 defaults it to
    5 s, which cut `XREAD BLOCK 15000` followers off.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry as AsyncRetry

    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=60,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        retry=AsyncRetry(_backoff(), RECONNECT_ATTEMPTS),
    )
    return aioredis.Redis(connection_pool=pool)
