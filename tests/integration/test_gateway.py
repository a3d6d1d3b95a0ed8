"""The ProviderGateway actor: shared limits, idempotent ledger, 429 feedback, restarts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actors.gateway_links import ray_links
from domain.llm import Lease, RetryPolicy, Wait
from engine.llm import CompletionRequest, LLMClient, UsageRecord, simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = pytest.mark.integration


def _name() -> str:
    return f"gw-{uuid.uuid4().hex[:8]}"


def _ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"What is {i} + 1? {uuid.uuid4().hex[:6]}"}]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=3)) as simulator:
        yield simulator


def _gateway(account: Any) -> Any:
    from actors.provider_gateway import get_gateway

    return get_gateway(account)


async def test_get_gateway_returns_one_named_actor_and_adopts_new_limits(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    account = simulator_catalogue(sim.api_base, rpm=181, name=_name()).accounts[0]
    first, second = _gateway(account), _gateway(account)
    assert await first.status.remote() == await second.status.remote()
    lease = await first.acquire.remote(5, 500)
    # 181 rpm less 0.5% headroom = 180 rpm: a burst of 3, then 2.95/s.
    assert isinstance(lease, Lease) and lease.requests == 3
    assert isinstance(await second.acquire.remote(1, 100), Wait)

    faster = simulator_catalogue(sim.api_base, rpm=6000, name=account.name).accounts[0]
    assert await second.configure.remote(faster) is True
    assert (await first.status.remote())["limits"]["rpm"] == 6000


async def test_two_clients_share_one_limit_without_429(
    ray_cluster: dict[str, Any], redis_url: str
) -> None:
    with running_simulator(SimulatorConfig(rpm=600, seed=5)) as limited:
        catalogue = simulator_catalogue(limited.api_base, rpm=600, name=_name())
        clients = [
            LLMClient(catalogue, redis_url=redis_url, links=ray_links(redis_url)) for _ in range(2)
        ]
        started = time.monotonic()
        results = await asyncio.gather(
            *[
                clients[i % 2].complete(CompletionRequest("openai/sim-small", _ask(i)))
                for i in range(30)
            ]
        )
        elapsed = time.monotonic() - started
        for client in clients:
            await client.aclose()
        stats = limited.stats()
    assert all(r.ok for r in results)
    assert stats["rate_limited"] == 0
    # 600 rpm: a burst of 10, then 9.83/s; 30 calls cannot finish much before 2 s.
    assert elapsed >= 1.9


async def test_ledger_counts_each_record_once_in_memory_and_in_redis(
    ray_cluster: dict[str, Any], redis_url: str, sim: Simulator
) -> None:
    from actors.provider_gateway import get_gateway

    account = simulator_catalogue(sim.api_base, name=_name()).accounts[0]
    gateway = get_gateway(account, redis_url)
    record = UsageRecord("c1/openai/sim-small", "c1", "openai/sim-small", "r9", 3, 2, 1, True,
                         10, 5, 0.25)  # fmt: skip
    assert await gateway.report.remote([record]) == 1
    assert await gateway.report.remote([record, record]) == 0  # at-least-once replay
    lease = await gateway.acquire.remote(1, 10)
    assert await gateway.release.remote(lease.id, 1, 10, [record]) is True
    for durable in (False, True):
        totals = await gateway.usage.remote("run:r9", durable)
        assert totals["calls"] == 1 and totals["requests"] == 3 and totals["errors"] == 2
        assert totals["rate_limited"] == 1 and totals["cost_usd"] == pytest.approx(0.25)


async def test_exhausted_limit_headers_pause_the_gateway(ray_cluster: dict[str, Any]) -> None:
    with running_simulator(SimulatorConfig(rpm=1, seed=1)) as strict:
        catalogue = simulator_catalogue(strict.api_base, rpm=6000, name=_name())
        client = LLMClient(catalogue, links=ray_links())
        result = await client.complete(CompletionRequest("openai/sim-small", _ask(0)))
        await client.aclose()
    assert result.ok  # and its x-ratelimit-remaining-requests said 0
    status = await _gateway(catalogue.accounts[0]).status.remote()
    assert status["paused_for_s"] > 30 and status["rate_factor"] == 1.0


async def test_a_429_pauses_the_gateway_and_cuts_its_rate(ray_cluster: dict[str, Any]) -> None:
    with running_simulator(SimulatorConfig(rpm=1, seed=1)) as strict:
        # Someone else spends the provider's whole minute behind our back.
        body = {"model": "sim-small", "messages": _ask(0)}
        assert httpx.post(f"{strict.api_base}/chat/completions", json=body).status_code == 200
        catalogue = simulator_catalogue(
            strict.api_base, rpm=6000, name=_name(), retry=RetryPolicy(max_attempts=1)
        )
        client = LLMClient(catalogue, links=ray_links())
        result = await client.complete(CompletionRequest("openai/sim-small", _ask(1)))
        await client.aclose()
    error = result.error
    assert error is not None and error.kind == "rate_limit" and error.status == 429
    assert error.retryable and error.attempts == 1 and result.rate_limited == 1
    assert "Rate limit reached" in error.message
    status = await _gateway(catalogue.accounts[0]).status.remote()
    assert status["paused_for_s"] > 30  # the simulator's Retry-After: its window resets in ~60 s
    assert status["rate_factor"] < 1.0


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "recreated"])
async def test_calls_succeed_after_the_gateway_is_killed(
    ray_cluster: dict[str, Any], sim: Simulator, restart: bool
) -> None:
    import ray

    catalogue = simulator_catalogue(sim.api_base, name=_name())
    client = LLMClient(catalogue, links=ray_links())
    first = await client.complete(CompletionRequest("openai/sim-small", _ask(1)))
    await client.flush()
    gateway = _gateway(catalogue.accounts[0])
    before = (await gateway.status.remote())["incarnation"]

    ray.kill(gateway, no_restart=not restart)
    second = await client.complete(CompletionRequest("openai/sim-small", _ask(2)))
    await client.aclose()

    assert first.ok and second.ok
    after = await _gateway(catalogue.accounts[0]).status.remote()
    assert after["incarnation"] != before
