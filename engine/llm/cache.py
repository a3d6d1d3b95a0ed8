"""The response cache: answers in Redis under ``af:cache:<cache_key>``, shared by all processes.

Only answers are stored, never errors. Lookups count hits and misses twice: in this process
(`ResponseCache.stats`) and globally in the ``af:cache:stats`` hash. A Redis failure never
fails a call: it counts as a miss (or a skipped write) and is logged.

Bypass (``CompletionRequest.cache=False``) skips the *read* only: the fresh answer is still
written, so a bypassing run refreshes the cache for the next one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.logs import get_logger

log = get_logger(__name__)

PREFIX = "af:cache:"
STATS_KEY = "af:cache:stats"
DEFAULT_TTL_S = 7 * 24 * 3600

# One round trip: read the entry and count the hit or miss.
_LOOKUP = """
local value = redis.call('GET', KEYS[1])
redis.call('HINCRBY', KEYS[2], value and 'hits' or 'misses', 1)
return value
"""


@dataclass
class CacheStats:
    """Counters of one process's cache traffic."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class ResponseCache:
    """Read and write cached answers.

    Args:
        redis: A ``redis.asyncio.Redis`` client.
        ttl_s: Life of an entry in seconds (default 7 days).

    Examples:
        >>> cache = ResponseCache.from_url("unix:///tmp/redis.sock")  # doctest: +SKIP
        >>> await cache.put(key, {"content": "4"})  # doctest: +SKIP
        >>> await cache.get(key)  # doctest: +SKIP
        {'content': '4'}
    """

    def __init__(self, redis: Any, ttl_s: int = DEFAULT_TTL_S) -> None:
        if ttl_s <= 0:
            from domain.errors import ValidationError

            raise ValidationError(f"cache ttl_s must be > 0, got {ttl_s}")
        self.redis = redis
        self.ttl_s = ttl_s
        self._stats = CacheStats()
        self._lookup = redis.register_script(_LOOKUP)

    @classmethod
    def from_url(cls, url: str, ttl_s: int = DEFAULT_TTL_S) -> ResponseCache:
        """A cache on the Redis at ``url`` (``redis://``, ``unix://``)."""
        import redis.asyncio as aioredis

        return cls(aioredis.Redis.from_url(url), ttl_s)

    async def get(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key`` (a `domain.llm.cache_key`), or ``None`` on a miss."""
        try:
            raw = await self._lookup(keys=[PREFIX + key, STATS_KEY])
        except Exception as exc:
            self._failed("read", exc)
            self._stats.misses += 1
            return None
        if raw is None:
            self._stats.misses += 1
            return None
        self._stats.hits += 1
        value: dict[str, Any] = json.loads(raw)
        return value

    async def put(self, key: str, value: Mapping[str, Any], ttl_s: int | None = None) -> bool:
        """Store ``value`` under ``key``; False when Redis failed (the call still succeeded)."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(PREFIX + key, json.dumps(value), ex=ttl_s or self.ttl_s)
                pipe.hincrby(STATS_KEY, "writes", 1)
                await pipe.execute()
        except Exception as exc:
            self._failed("write", exc)
            return False
        self._stats.writes += 1
        return True

    async def delete(self, key: str) -> bool:
        """Drop the entry under ``key``; True if there was one."""
        return bool(await self.redis.delete(PREFIX + key))

    def stats(self) -> CacheStats:
        """This process's counters (a copy)."""
        return CacheStats(**asdict(self._stats))

    async def global_stats(self) -> dict[str, int]:
        """Counters of every process since the hash was created: hits, misses, writes."""
        raw = await self.redis.hgetall(STATS_KEY)
        counts = {"hits": 0, "misses": 0, "writes": 0}
        for name, value in raw.items():
            counts[name.decode() if isinstance(name, bytes) else name] = int(value)
        return counts

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self.redis.aclose()

    def _failed(self, what: str, exc: Exception) -> None:
        self._stats.errors += 1
        if self._stats.errors == 1 or self._stats.errors % 1000 == 0:
            log.warning(
                "response cache unavailable", op=what, error=str(exc), count=self._stats.errors
            )
