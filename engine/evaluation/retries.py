"""A run's retried provider calls, counted as they happen for its progress.

Evaluators count each failed attempt that another follows (a 429, a 5xx, a timeout) in a
Redis counter per run and say so on the run's event stream, at most every
`FLUSH_INTERVAL_S` per evaluator: a run waiting out rate limits otherwise showed
``retries: 0`` until its batches came back. The scheduler adds the counter to its progress.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from engine.evaluation import streams
from engine.logs import get_logger

log = get_logger(__name__)
FLUSH_INTERVAL_S = 0.5


def retries_key(run_id: str) -> str:
    return f"af:run:{run_id}:retries"


async def retries_of(redis: Any, run_id: str) -> int:
    """Retried provider calls of ``run_id`` counted so far (0 if none or Redis is away)."""
    try:
        return int(await redis.get(retries_key(run_id)) or 0)
    except Exception as exc:  # progress is best effort
        log.warning("retries not read", run_id=run_id, error=repr(exc))
        return 0


class RetryCounter:
    """Counts retries of one process's runs into Redis, batched every `FLUSH_INTERVAL_S`."""

    def __init__(self, redis: Any, interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.redis = redis
        self._interval_s = interval_s
        self._pending: Counter[str] = Counter()
        self._flushes: dict[str, asyncio.Task[None]] = {}

    def retried(self, run_id: str | None) -> None:
        """Count one retry of ``run_id`` (called by the LLM client as it happens)."""
        if run_id is None:
            return
        self._pending[run_id] += 1
        if run_id not in self._flushes:
            self._flushes[run_id] = asyncio.ensure_future(self._flush_later(run_id))

    async def _flush_later(self, run_id: str) -> None:
        await asyncio.sleep(self._interval_s)
        self._flushes.pop(run_id, None)
        await self.flush(run_id)

    async def flush(self, run_id: str) -> None:
        """Add the retries of ``run_id`` counted here to its counter and tell its followers."""
        count = self._pending.pop(run_id, 0)
        if not count:
            return
        key = retries_key(run_id)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incrby(key, count)
            pipe.expire(key, streams.FINISHED_RUN_TTL_S)
            total, _ = await pipe.execute()
            await self.redis.xadd(
                streams.events_stream(run_id),
                streams.encode({"type": "retrying", "retries": int(total)}),
                maxlen=10_000,
                approximate=True,
            )
        except Exception as exc:  # progress is best effort; the cells carry their attempts
            log.warning("retries not counted", run_id=run_id, error=repr(exc))
