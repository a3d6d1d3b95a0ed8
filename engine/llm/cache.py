"""The response cache: answers in Redis under ``af:cache:<cache_key>``, shared by all processes.

Entries of a call made for a user (``user_id``) are that user's alone: the owner is part of
the key, so a hit never tells anyone that another user sent the same prompt. Only answers are
stored, never errors. Lookups count hits and misses twice: in this process
(`ResponseCache.stats`) and globally in the ``af:cache:stats`` hash. A Redis failure never
fails a call: it counts as a miss (or a skipped write) and is logged.

A call with ``CompletionRequest.cache=False`` neither reads nor writes the cache: a run that
asked for no cache paid a key hash, a JSON dump and a Redis write per call for nothing.

The client writes behind (`ResponseCache.put_later`): answers queue in memory (and are
served from there to this process) and go to Redis in one pipeline per batch, off the
call's path; `ResponseCache.flush` waits for them.
"""

from __future__ import annotations

import asyncio
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
        self._pending: dict[str, str] = {}
        self._pending_hits = 0
        self._drain: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, ttl_s: int = DEFAULT_TTL_S) -> ResponseCache:
        """A cache on the Redis at ``url`` (``redis://``, ``unix://``)."""
        from engine.redis_client import async_redis

        return cls(async_redis(url), ttl_s)

    async def get(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key`` (a `domain.llm.cache_key`), or ``None`` on a miss."""
        queued = self._pending.get(key)
        if queued is not None:
            self._stats.hits += 1
            self._pending_hits += 1  # counted globally with the next batch
            value: dict[str, Any] = json.loads(queued)
            return value
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
        return dict(json.loads(raw))

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

    def put_later(self, key: str, value: Mapping[str, Any]) -> None:
        """Queue ``value`` under ``key``; written with the next batch (see `flush`)."""
        self._pending[key] = json.dumps(value)
        if self._drain is None:
            self._drain = asyncio.ensure_future(self._write_pending())

    async def flush(self) -> None:
        """Wait until every queued entry is written (or failed and was logged)."""
        while self._drain is not None:
            await asyncio.shield(self._drain)

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                hits, self._pending_hits = self._pending_hits, 0
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for key, raw in batch.items():
                            pipe.set(PREFIX + key, raw, ex=self.ttl_s)
                        pipe.hincrby(STATS_KEY, "writes", len(batch))
                        if hits:
                            pipe.hincrby(STATS_KEY, "hits", hits)
                        await pipe.execute()
                except Exception as exc:
                    self._failed("write", exc)
                    continue
                self._stats.writes += len(batch)
        finally:
            self._drain = None

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
        """Write what is queued, then close the Redis connections."""
        await self.flush()
        await self.redis.aclose()

    def _failed(self, what: str, exc: Exception) -> None:
        self._stats.errors += 1
        if self._stats.errors == 1 or self._stats.errors % 1000 == 0:
            log.warning(
                "response cache unavailable", op=what, error=str(exc), count=self._stats.errors
            )
