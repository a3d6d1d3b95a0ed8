"""Async Redis clients that wait for a free connection instead of failing.

redis-py's default pool raises `MaxConnectionsError` when hundreds of coroutines (one per
in-flight cell) want a connection at once; a blocking pool queues them instead.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_CONNECTIONS = 64


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

    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=60,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
    )
    return aioredis.Redis(connection_pool=pool)
