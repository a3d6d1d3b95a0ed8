"""The durable usage ledger in Redis agrees with the in-memory one, record for record."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from engine.llm import RedisUsageStore, UsageLedger, UsageRecord
from engine.redis_client import async_redis

pytestmark = pytest.mark.integration


def _records(n: int, seed: int) -> list[UsageRecord]:
    rng = random.Random(seed)
    return [
        UsageRecord(
            id=f"call-{i}/openai/m{i % 3}",
            call_id=f"call-{i}",
            model=f"openai/m{i % 3}",
            run_id=rng.choice(["r1", "r2", None]),
            requests=rng.randint(1, 3),
            errors=rng.randint(0, 2),
            rate_limited=rng.randint(0, 1),
            ok=rng.random() < 0.8,
            prompt_tokens=rng.randint(0, 500),
            completion_tokens=rng.randint(0, 200),
            cost_usd=rng.random() / 100,
            user_id=rng.choice(["alice", "bob", None]),
        )
        for i in range(n)
    ]


def test_batched_writes_sum_exactly_what_the_memory_ledger_counts(redis_url: str) -> None:
    records = _records(200, seed=4)
    batches = [records[i : i + 32] for i in range(0, 200, 32)]
    batches.append(records[10:50])  # a redelivered release: counted once

    async def scenario() -> tuple[list[int], dict[str, dict[str, float]]]:
        redis = async_redis(redis_url)
        store = RedisUsageStore(redis, f"acct-{uuid.uuid4().hex[:6]}")
        new = [await store.apply(batch) for batch in batches]
        scopes = ["account", "model:openai/m1", "run:r2", "user:alice", "user:bob:model:openai/m0"]
        totals = {scope: await store.totals(scope) for scope in scopes}
        await redis.aclose()
        return new, totals

    new, durable = asyncio.run(scenario())
    assert sum(new) == 200 and new[-1] == 0
    memory = UsageLedger()
    assert memory.record_all(records) == 200
    for scope, totals in durable.items():
        expected = memory.totals(scope)
        assert expected["calls"] > 0, scope
        for name, value in expected.items():
            assert totals[name] == pytest.approx(value), (scope, name)
