"""The shared stream reader: replay then live, with nothing missed or sent twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from api.stream_hub import StreamHub
from engine.evaluation.streams import decode
from engine.redis_client import async_redis

pytestmark = pytest.mark.integration


async def _collect(hub: StreamHub, key: str, after: str, n: int) -> list[int]:
    got: list[int] = []
    async for item in hub.follow(key, after):
        if item is not None:
            got.append(int(item[1]["seq"]))
        if len(got) == n:
            break
    return got


def test_followers_share_one_reader_and_get_every_entry_once(redis_url: str) -> None:
    async def scenario() -> tuple[list[list[int]], list[int], int]:
        redis: Any = async_redis(redis_url, decode_responses=True, socket_timeout=None)
        key = "af:test:hub"
        await redis.delete(key)
        ids = [await redis.xadd(key, {"d": json.dumps({"seq": i})}) for i in range(10)]
        hub = StreamHub(redis, block_ms=200, decode=decode)
        followers = [asyncio.create_task(_collect(hub, key, "0-0", 40)) for _ in range(20)]
        late = asyncio.create_task(_collect(hub, key, ids[4], 35))
        for i in range(10, 40):  # written while followers replay and go live
            await redis.xadd(key, {"d": json.dumps({"seq": i})})
            if i % 7 == 0:
                await asyncio.sleep(0.01)
        results = await asyncio.wait_for(asyncio.gather(*followers), 10)
        tail = await asyncio.wait_for(late, 10)
        feeds = len(hub._feeds)
        await redis.aclose()
        return results, tail, feeds

    results, tail, feeds = asyncio.run(scenario())
    assert all(r == list(range(40)) for r in results)
    assert tail == list(range(5, 40))
    assert feeds == 0  # the reader stops with its last follower


class _LateFirstRead:
    """The real client, with the shared reader's first XREAD held back until released."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def xread(self, *args: Any, **kwargs: Any) -> Any:
        await self.release.wait()
        return await self._redis.xread(*args, **kwargs)


def test_entries_written_before_the_readers_first_xread_are_not_missed(redis_url: str) -> None:
    async def scenario() -> list[int]:
        redis: Any = async_redis(redis_url, decode_responses=True, socket_timeout=None)
        key = "af:test:hub-late"
        await redis.delete(key)
        await redis.xadd(key, {"d": json.dumps({"seq": 0})})
        slow = _LateFirstRead(redis)
        hub = StreamHub(slow, block_ms=100, decode=decode)
        follower = asyncio.create_task(_collect(hub, key, "0-0", 3))
        await asyncio.sleep(0.2)  # the follower has replayed entry 0 and waits on its queue
        await redis.xadd(key, {"d": json.dumps({"seq": 1})})
        await redis.xadd(key, {"d": json.dumps({"seq": 2})})
        slow.release.set()  # only now does the shared reader issue its first XREAD
        got = await asyncio.wait_for(follower, 5)
        await redis.aclose()
        return got

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_a_live_entry_is_encoded_once_for_all_followers(redis_url: str) -> None:
    encoded: list[str] = []

    def encode(entry_id: str, fields: dict[str, Any]) -> str:
        encoded.append(entry_id)
        return json.dumps({"id": entry_id, "data": fields})

    async def follower(hub: StreamHub, key: str, after: str, n: int) -> list[str]:
        texts: list[str] = []
        async for item in hub.follow(key, after):
            if item is not None:
                texts.append(hub.frame("socket", key, item, encode))
            if len(texts) == n:
                break
        return texts

    async def scenario() -> tuple[list[list[str]], list[str]]:
        redis: Any = async_redis(redis_url, decode_responses=True, socket_timeout=None)
        key = "af:test:hub-frames"
        await redis.delete(key)
        first = await redis.xadd(key, {"d": json.dumps({"seq": -1})})
        hub = StreamHub(redis, block_ms=200, decode=decode)
        followers = [asyncio.create_task(follower(hub, key, first, 5)) for _ in range(50)]
        while hub.followers < 50:
            await asyncio.sleep(0.01)
        await asyncio.shield(hub._feeds[key].pinned)
        ids = [await redis.xadd(key, {"d": json.dumps({"seq": i})}) for i in range(5)]
        results = await asyncio.wait_for(asyncio.gather(*followers), 10)
        await redis.aclose()
        return results, ids

    results, ids = asyncio.run(scenario())
    expected = [json.dumps({"id": i, "data": {"seq": n}}) for n, i in enumerate(ids)]
    assert all(texts == expected for texts in results)
    assert encoded == ids  # 5 encodings for 250 sends
