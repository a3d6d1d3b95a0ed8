"""One Redis reader per followed run, shared by all its followers in this process.

Each follower used to hold its own connection in `XREAD BLOCK`: 1,000 followers of one run
meant 1,000 reads of every event. The hub reads each run's stream once and hands entries to
per-follower queues. A follower first registers its queue, then waits until the reader has
pinned its start id (the stream's tail at that moment; `$` would mean "the tail at my first
XREAD", losing whatever is written between a follower's replay and that read), then replays
history with XRANGE from its resume point, then drains the queue, skipping ids it already
sent: nothing is missed between replay and live, and nothing is sent twice. Each live
entry is encoded once per replica for all its followers (`frame`), not once per follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from engine.metrics import exported

Entry = tuple[str, dict[str, Any]]
REPLAY_PAGE = 500
QUEUE_LIMIT = 10_000
FRAMES_KEPT = 1_024
"""Encoded frames kept per hub: a follower far enough behind to miss it encodes its own."""


def stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class SlowFollower(Exception):
    """A follower fell QUEUE_LIMIT entries behind; it should reconnect with Last-Event-ID."""


class _Feed:
    def __init__(self, hub: StreamHub, key: str) -> None:
        self.hub = hub
        self.key = key
        self.queues: set[asyncio.Queue[Entry | None | SlowFollower]] = set()
        self.task: asyncio.Task[None] | None = None
        self.pinned: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def read_forever(self) -> None:
        try:
            tail: Any = await self.hub.redis.xrevrange(self.key, "+", "-", count=1)
        except BaseException as exc:
            self.pinned.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
            raise
        last = tail[0][0] if tail else "0-0"
        self.pinned.set_result(None)
        while True:
            reply: Any = await self.hub.redis.xread(
                {self.key: last}, count=REPLAY_PAGE, block=self.hub.block_ms
            )
            entries = reply[0][1] if reply else []
            if not entries:
                self._publish(None)
            for entry_id, fields in entries:
                last = entry_id
                self._publish((entry_id, self.hub.decode(fields)))
            if entries:
                exported.events_sent([entry_id for entry_id, _ in entries], time.time())

    def _publish(self, item: Entry | None) -> None:
        for queue in list(self.queues):
            if queue.qsize() >= QUEUE_LIMIT:
                self.queues.discard(queue)
                queue.put_nowait(SlowFollower())
            else:
                queue.put_nowait(item)


class StreamHub:
    """Shared readers of Redis streams for one event loop (one app instance)."""

    def __init__(
        self, redis: Any, block_ms: int, decode: Callable[[dict[str, Any]], dict[str, Any]]
    ):
        self.redis = redis
        self.block_ms = block_ms
        self.decode = decode
        self._feeds: dict[str, _Feed] = {}
        self._frames: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self.followers = 0

    def frame(self, kind: str, key: str, entry: Entry, encode: Callable[[str, Any], str]) -> str:
        """``encode(*entry)`` for stream ``key``, computed once for every follower that
        sends it as ``kind`` (10,000 followers of one run: one JSON encoding, not 10,000)."""
        cached = (kind, key, entry[0])
        text = self._frames.get(cached)
        if text is None:
            text = self._frames[cached] = encode(*entry)
            if len(self._frames) > FRAMES_KEPT:
                self._frames.popitem(last=False)
        return text

    async def follow(self, key: str, after: str) -> AsyncIterator[Entry | None]:
        """Entries of `key` after `after`, then live ones; `None` when a block passes quietly."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = _Feed(self, key)
        queue: asyncio.Queue[Entry | None | SlowFollower] = asyncio.Queue()
        feed.queues.add(queue)
        self.followers += 1
        exported.subscribers(self.followers)
        if feed.task is None:
            feed.task = asyncio.create_task(feed.read_forever())
        try:
            await asyncio.shield(feed.pinned)
            sent = stream_id(after) if after not in ("0", "0-0", "$") else (0, 0)
            start = "(" + after if after not in ("0", "0-0") else "-"
            while True:
                page: Any = await self.redis.xrange(key, start, "+", count=REPLAY_PAGE)
                for entry_id, fields in page:
                    sent = stream_id(entry_id)
                    yield entry_id, self.decode(fields)
                if len(page) < REPLAY_PAGE:
                    break
                start = "(" + page[-1][0]
            while True:
                item = await queue.get()
                if isinstance(item, SlowFollower):
                    raise item
                if item is None:
                    yield None
                elif stream_id(item[0]) > sent:
                    sent = stream_id(item[0])
                    yield item
        finally:
            feed.queues.discard(queue)
            self.followers -= 1
            exported.subscribers(self.followers)
            if not feed.queues and feed.task is not None:
                if self._feeds.get(key) is feed:  # before awaiting: a newcomer gets a new feed
                    del self._feeds[key]
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task
