"""Async Redis clients that wait for a free connection instead of failing.

redis-py's default pool raises `MaxConnectionsError` when hundreds of coroutines (one per
in-flight cell) want a connection at once; a blocking pool queues them instead.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_CONNECTIONS = 64


def async_redis(
    url: str, *, decode_responses: bool = False, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> Any:
    """A `redis.asyncio.Redis` on a blocking pool of at most `max_connections`."""
    import redis.asyncio as aioredis

    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=60, decode_responses=decode_responses
    )
    return aioredis.Redis(connection_pool=pool)
