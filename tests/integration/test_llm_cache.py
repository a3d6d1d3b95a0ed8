"""The Redis response cache: an unchanged rerun makes no provider call; errors are not kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actors.gateway_links import ray_links
from domain.llm import RetryPolicy, cache_key
from engine.llm import CompletionRequest, LLMClient, ResponseCache, simulator_catalogue
from engine.llm.cache import PREFIX
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = pytest.mark.integration


def _name() -> str:
    return f"ca-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=13)) as simulator:
        yield simulator


def _stats(simulator: Simulator) -> dict[str, Any]:
    return dict(httpx.get(f"{simulator.url}/stats").json())


def _cells(tag: str) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            "openai/sim-small",
            [{"role": "user", "content": f"Reverse the word '{tag}{i}'."}],
            params={"temperature": 0.7, "max_tokens": 40},
            repeat_index=r,
        )
        for i in range(10)
        for r in range(2)
    ]


async def test_second_run_is_served_entirely_from_the_cache(
    ray_cluster: dict[str, Any], redis_url: str, sim: Simulator
) -> None:
    catalogue = simulator_catalogue(sim.api_base, name=_name())
    tag = uuid.uuid4().hex[:8]
    first_client = LLMClient(catalogue, redis_url=redis_url, links=ray_links(redis_url))
    first = await asyncio.gather(*[first_client.complete(c) for c in _cells(tag)])
    await first_client.aclose()
    assert all(r.ok and not r.cached for r in first)

    httpx.post(f"{sim.url}/stats/reset")
    second_client = LLMClient(
        catalogue, redis_url=redis_url, links=ray_links(redis_url)
    )  # e.g. another evaluator
    second = await asyncio.gather(*[second_client.complete(c) for c in _cells(tag)])
    stats = second_client.cache_stats()
    await second_client.aclose()

    assert _stats(sim)["requests_total"] == 0
    assert stats.hits == 20 and stats.misses == 0 and stats.hit_rate == 1.0
    assert all(r.cached and r.attempts == 0 and r.cost_usd == 0 for r in second)
    assert [r.content for r in second] == [r.content for r in first]
    assert [r.usage for r in second] == [r.usage for r in first]


async def test_a_call_without_cache_neither_reads_nor_writes_it(
    ray_cluster: dict[str, Any], redis_url: str, sim: Simulator
) -> None:
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=_name()),
        redis_url=redis_url,
        links=ray_links(redis_url),
    )
    messages = [{"role": "user", "content": f"What is 7 + 5? {uuid.uuid4().hex}"}]
    first = await client.complete(CompletionRequest("openai/sim-small", messages))
    bypass = await client.complete(CompletionRequest("openai/sim-small", messages, cache=False))
    again = await client.complete(CompletionRequest("openai/sim-small", messages))
    other_repeat = await client.complete(
        CompletionRequest("openai/sim-small", messages, repeat_index=1)
    )
    await client.flush()
    stats = client.cache_stats()
    await client.aclose()
    assert not first.cached and not bypass.cached and bypass.attempts == 1
    assert again.cached and not other_repeat.cached
    assert (stats.hits, stats.misses, stats.writes) == (1, 2, 2)


async def test_errors_are_never_cached(ray_cluster: dict[str, Any], redis_url: str) -> None:
    messages = [{"role": "user", "content": f"What is 1 + 1? {uuid.uuid4().hex}"}]
    with running_simulator(SimulatorConfig(error_rate=1.0, seed=4)) as broken:
        catalogue = simulator_catalogue(
            broken.api_base, name=_name(), retry=RetryPolicy(max_attempts=1)
        )
        client = LLMClient(catalogue, redis_url=redis_url, links=ray_links(redis_url))
        results = [
            await client.complete(CompletionRequest("openai/sim-small", messages)) for _ in range(2)
        ]
        cache = client.cache
        assert cache is not None
        stored = await cache.get(cache_key("openai/sim-small", messages, {}, 0))
        await client.aclose()
        requests = _stats(broken)["requests_total"]
    assert all(not r.ok for r in results) and requests == 2 and stored is None


async def test_entries_expire_and_global_counters_add_up(redis_url: str) -> None:
    cache = ResponseCache.from_url(redis_url, ttl_s=120)
    key = uuid.uuid4().hex
    before = await cache.global_stats()
    assert await cache.get(key) is None
    assert await cache.put(key, {"content": "4"})
    assert await cache.get(key) == {"content": "4"}
    ttl = await cache.redis.ttl(PREFIX + key)
    after = await cache.global_stats()
    await cache.aclose()
    assert 100 < ttl <= 120
    assert after["hits"] - before["hits"] == 1 and after["misses"] - before["misses"] == 1
    assert after["writes"] - before["writes"] == 1


async def test_one_users_cached_answers_are_not_served_to_another(
    ray_cluster: dict[str, Any], redis_url: str, sim: Simulator
) -> None:
    """A hit would tell Bob that someone sent exactly his prompt before (`cached: true`)."""
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=_name()),
        redis_url=redis_url,
        links=ray_links(redis_url),
    )
    messages = [{"role": "user", "content": f"Reverse the word 'secret{uuid.uuid4().hex}'."}]

    def ask(user: str) -> CompletionRequest:
        return CompletionRequest("openai/sim-small", messages, user_id=user)

    alice = await client.complete(ask("alice"))
    bob = await client.complete(ask("bob"))
    alice_again = await client.complete(ask("alice"))
    await client.aclose()
    assert not alice.cached and not bob.cached
    assert alice_again.cached
