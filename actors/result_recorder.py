"""`ResultRecorder`: reads run result streams as a consumer group and bulk-writes the DB.

At-least-once: entries are acknowledged only after their rows are committed; the unique
cell key makes a replay harmless. A restarted recorder (new consumer name) claims what the
dead one left pending with XAUTOCLAIM. An acknowledged entry is deleted from the stream
(the database holds it now), and `retire` lets a finished run's streams expire.

A database that takes no write at all (locked, read-only, unreachable) is an outage, not
the entries' fault: the recorder backs off and retries the same entries, costing them no
delivery, for as long as it lasts. Only a poison entry goes to the run's dead-letter
stream: one that cannot be decoded or validated, or that fails while the database takes
writes. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from actors.remote import actor_class
from domain.evaluation.failure import stored_error
from domain.evaluation.rows import ResultRow
from engine import timings
from engine.evaluation import streams
from engine.evaluation.runs import OUTAGE_BACKOFF_S
from engine.logs import get_logger
from engine.metrics import exported

log = get_logger(__name__)
CLAIM_IDLE_MS = 10_000
READ_COUNT = 2_000


class ResultRecorder:
    """Single writer of result rows; see module docstring."""

    def __init__(self, redis_url: str, database_url: str) -> None:
        from engine.db import create_db_engine
        from engine.evaluation.runs import RunStore
        from engine.redis_client import async_redis

        self.redis: Any = async_redis(redis_url, decode_responses=True)
        self.store = RunStore(create_db_engine(database_url))
        self.consumer = f"recorder-{uuid.uuid4().hex[:8]}"
        self.watched: set[str] = set()
        self.dead_lettered = 0
        self.outage_retries = 0
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None

    async def _ensure_loop(self) -> None:
        if self._loop_task is None:
            for run_id in await self.redis.smembers(streams.WATCHED_RUNS):
                await self._watch(run_id)
            self._loop_task = asyncio.create_task(self._run_forever())

    async def ready(self) -> str:
        await self._ensure_loop()
        return self.consumer

    async def watch(self, run_id: str) -> None:
        """Start recording `run_id`'s result stream (kept across recorder restarts)."""
        await self._ensure_loop()
        await self.redis.sadd(streams.WATCHED_RUNS, run_id)
        await self._watch(run_id)

    async def _watch(self, run_id: str) -> None:
        with contextlib.suppress(Exception):  # BUSYGROUP: the group already exists
            await self.redis.xgroup_create(
                streams.results_stream(run_id), streams.GROUP, id="0", mkstream=True
            )
        # A resumed run is live again: its streams must outlive it, however long it runs.
        pipe = self.redis.pipeline(transaction=False)
        for key in streams.run_streams(run_id):
            pipe.persist(key)
        await pipe.execute()
        self.watched.add(run_id)

    async def unwatch(self, run_id: str) -> None:
        await self.redis.srem(streams.WATCHED_RUNS, run_id)
        self.watched.discard(run_id)

    async def flush(self, run_id: str, claim_idle_ms: int = 0) -> dict[str, int]:
        """Record everything in `run_id`'s stream now, claiming entries idle ≥ claim_idle_ms.

        Returns only once the database holds every entry that was in the stream (or its
        dead letter): through a database outage it waits. So a resume, which flushes before
        it expands the cells still to call, never calls a cell whose result was paid for.
        """
        await self.watch(run_id)
        stream = streams.results_stream(run_id)
        await self._claim(stream, claim_idle_ms)
        while await self._read({stream: ">"}, block_ms=None):
            pass
        await self._claim(stream, claim_idle_ms)
        pending = await self.redis.xpending(stream, streams.GROUP)
        return {
            "recorded": await asyncio.to_thread(self.store.recorded_count, run_id),
            "pending": int(pending["pending"]),
            "dead": int(await self.redis.xlen(streams.dead_letter_stream(run_id))),
        }

    async def retire(self, run_id: str) -> dict[str, int]:
        """Stop watching a run that stopped, once everything it streamed is recorded, and
        let its streams expire after `streams.FINISHED_RUN_TTL_S` (events stay readable by a
        late follower until then). A resume (`watch`) keeps them again."""
        flushed = await self.flush(run_id)
        if flushed["pending"]:
            return flushed
        await self.unwatch(run_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xtrim(streams.results_stream(run_id), maxlen=0)
        for key in streams.run_streams(run_id):
            pipe.expire(key, streams.FINISHED_RUN_TTL_S)
        await pipe.execute()
        return flushed

    async def stats(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "watched": sorted(self.watched),
            "dead_lettered": self.dead_lettered,
            "outage_retries": self.outage_retries,
        }

    async def _run_forever(self) -> None:
        ticks = 0
        while True:
            try:
                if not self.watched:
                    await asyncio.sleep(0.1)
                    continue
                await self._read({streams.results_stream(r): ">" for r in self.watched}, 100)
                ticks += 1
                if ticks % 50 == 0:
                    for run_id in list(self.watched):
                        await self._claim(streams.results_stream(run_id), CLAIM_IDLE_MS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep recording other runs; log and back off
                log.warning("recorder loop error", error=str(exc))
                await asyncio.sleep(0.5)

    async def _read(self, wanted: dict[str, str], block_ms: int | None) -> int:
        replies = await self.redis.xreadgroup(
            streams.GROUP, self.consumer, wanted, count=READ_COUNT, block=block_ms
        )
        total = 0
        for stream, entries in replies or []:
            await self._record(stream, entries)
            total += len(entries)
        return total

    async def _claim(self, stream: str, min_idle_ms: int) -> None:
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                stream, streams.GROUP, self.consumer, min_idle_ms, start, count=READ_COUNT
            )
            start, entries = reply[0], reply[1]
            if entries:
                await self._record(stream, entries)
            if start in ("0-0", b"0-0") or not entries:
                return

    async def _record(self, stream: str, entries: list[Any]) -> None:
        async with self._lock:
            good: list[tuple[str, ResultRow]] = []
            for entry_id, fields in entries:
                if fields is None:  # deleted while pending
                    await self._ack(stream, [entry_id])
                    continue
                try:
                    row = ResultRow.from_dict(streams.decode(fields))
                except ValueError as exc:
                    await self._dead_letter(stream, entry_id, fields, f"invalid entry: {exc}")
                    continue
                good.append((entry_id, row))
            await self._store(stream, good)

    async def _store(self, stream: str, good: list[tuple[str, ResultRow]]) -> None:
        delay, longest = OUTAGE_BACKOFF_S
        while good:
            if await self._write(stream, good):
                return
            if await asyncio.to_thread(self.store.accepts_writes):
                good = await self._isolate(stream, good)
                continue
            self.outage_retries += 1
            log.warning(
                "database takes no writes; recording paused",
                stream=stream,
                entries=len(good),
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
            delay = min(2 * delay, longest)

    async def _write(self, stream: str, batch: list[tuple[str, ResultRow]]) -> bool:
        try:
            inserted = await asyncio.to_thread(self.store.record, [row for _, row in batch])
        except Exception:  # the caller asks the database whether it was the database
            return False
        timings.moment("first result recorded")
        exported.rows_recorded([entry_id for entry_id, _ in batch], time.time(), inserted)
        await self._ack(stream, [entry_id for entry_id, _ in batch])
        return True

    async def _isolate(
        self, stream: str, good: list[tuple[str, ResultRow]]
    ) -> list[tuple[str, ResultRow]]:
        """Write one by one: an entry that fails while the database takes writes is poison.
        Returns the entries not yet tried when the database stops taking writes."""
        for index, (entry_id, row) in enumerate(good):
            # Twice: an outage may end between a failed write and the probe that says so.
            for attempt in range(2):
                try:
                    inserted = await asyncio.to_thread(self.store.record, [row])
                except Exception as exc:
                    if not await asyncio.to_thread(self.store.accepts_writes):
                        return good[index:]
                    if attempt == 1:
                        reason = _first_line(exc)
                        await self._dead_letter(
                            stream, entry_id, streams.encode(row.to_dict()), reason
                        )
                    continue
                exported.rows_recorded([entry_id], time.time(), inserted)
                await self._ack(stream, [entry_id])
                break
        return []

    async def _ack(self, stream: str, entry_ids: list[str]) -> None:
        # Recorded entries leave the stream: a long run's stream holds only what is unrecorded.
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(stream, streams.GROUP, *entry_ids)
        pipe.xdel(stream, *entry_ids)
        await pipe.execute()

    async def _dead_letter(self, stream: str, entry_id: str, fields: Any, reason: str) -> None:
        run_id = streams.run_of(stream)
        # Both streams are read by the run's owner (events over HTTP): the full reason is logged.
        shown = stored_error(reason)
        payload = dict(fields) if isinstance(fields, dict) else {"raw": str(fields)}
        payload.update(reason=shown, entry=str(entry_id))
        await self.redis.xadd(streams.dead_letter_stream(run_id), payload)
        await self._ack(stream, [entry_id])
        await self.redis.xadd(
            streams.events_stream(run_id),
            streams.encode({"type": "dead-letter", "entry": str(entry_id), "reason": shown}),
        )
        self.dead_lettered += 1
        exported.dead_lettered()
        log.error("result entry dead-lettered", run_id=run_id, entry=str(entry_id), reason=reason)


def _first_line(exc: Exception) -> str:
    # SQLAlchemy appends the statement and its parameters (model outputs) on later lines.
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


ResultRecorderActor = actor_class(
    ResultRecorder, num_cpus=0, max_restarts=-1, max_task_retries=-1, max_concurrency=64
)
"""The Ray actor class of `ResultRecorder` (name it with `actors.naming.recorder_name`)."""
