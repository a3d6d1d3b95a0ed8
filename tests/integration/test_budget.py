"""Budgets in Redis: atomic reservations, idempotent settlement, a run stopped at its cap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from actors.gateway_links import ray_links
from engine.llm import BudgetStore, CompletionRequest, LLMClient, simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = pytest.mark.integration


def _scope() -> str:
    return f"run:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def budgets(redis_url: str) -> AsyncIterator[BudgetStore]:
    store = BudgetStore.from_url(redis_url)
    yield store
    await store.aclose()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=17)) as simulator:
        yield simulator


async def test_reservations_count_at_once_and_settlement_is_idempotent(
    budgets: BudgetStore,
) -> None:
    scope = _scope()
    await budgets.set_limit(scope, 1.0)
    assert await budgets.reserve([scope], "c1", 0.6)
    assert await budgets.reserve([scope], "c1", 0.6)  # already held: no more
    assert not await budgets.reserve([scope], "c2", 0.6)
    assert await budgets.settle([scope], "c1", 0.5)
    assert not await budgets.settle([scope], "c1", 0.5)  # a replay counts nothing
    status = await budgets.status(scope)
    assert status.spent_usd == pytest.approx(0.5) and status.reserved_usd == pytest.approx(0)
    assert status.calls == 1 and status.remaining_usd == pytest.approx(0.5)
    assert await budgets.reserve([scope], "c2", 0.5)  # fits exactly
    assert await budgets.cancel([scope], "c2")
    assert (await budgets.status(scope)).reserved_usd == pytest.approx(0)


async def test_a_call_held_back_only_by_calls_in_flight_waits_for_them(
    budgets: BudgetStore,
) -> None:
    scope = _scope()
    await budgets.set_limit(scope, 1.0)
    assert await budgets.reserve([scope], "c1", 0.6)
    waiting = asyncio.ensure_future(budgets.admit([scope], "c2", lambda: 0.6))
    done, _ = await asyncio.wait({waiting}, timeout=0.2)
    assert not done  # refusing it would stop a run whose budget is held, not spent
    assert await budgets.settle([scope], "c1", 0.1)
    assert await waiting
    assert (await budgets.status(scope)).reserved_usd == pytest.approx(0.6)
    assert await budgets.settle([scope], "c2", 0.8)
    assert not await budgets.admit([scope], "c3", lambda: 0.2)  # spent 0.9: refused at once


async def test_a_call_waiting_on_reservations_that_never_move_gives_up(
    budgets: BudgetStore,
) -> None:
    scope = _scope()
    await budgets.set_limit(scope, 1.0)
    assert await budgets.reserve([scope], "lost", 0.9)  # its process died holding it
    assert not await budgets.admit([scope], "c1", lambda: 0.2, patience_s=0.3)


async def test_reservation_is_all_or_nothing_across_scopes(budgets: BudgetStore) -> None:
    run, user = _scope(), f"user:{uuid.uuid4().hex[:8]}"
    await budgets.set_limit(user, 0.1)
    assert not await budgets.reserve([run, user], "c1", 0.2)
    assert (await budgets.status(run)).reserved_usd == 0  # the run was not charged
    assert await budgets.reserve([run, user], "c2", 0.05)
    assert await budgets.settle([run, user], "c2", None)  # unknown cost: charge the estimate
    assert (await budgets.status(run)).spent_usd == pytest.approx(0.05)
    assert (await budgets.status(run)).limit_usd is None  # no cap, spend still tracked


async def test_a_run_stops_at_its_cap_without_overshoot(
    ray_cluster: dict[str, Any], redis_url: str, sim: Simulator, budgets: BudgetStore
) -> None:
    run_id = uuid.uuid4().hex[:8]
    # sim-large: 5e-6 in, 15e-6 out; max_tokens 40 forecasts ~0.0007 per call.
    cap = 0.004
    await budgets.set_limit(f"run:{run_id}", cap)
    httpx.post(f"{sim.url}/stats/reset")
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=f"bu-{run_id}"),
        redis_url=redis_url,
        links=ray_links(redis_url),
    )
    embedded = await client.embed("openai/sim-embed", ["embeddings count too"], run_id=run_id)
    requests = [
        CompletionRequest(
            "openai/sim-large",
            [{"role": "user", "content": f"Spell the word 'budget{i}' backwards, please."}],
            params={"max_tokens": 40},
            run_id=run_id,
        )
        for i in range(30)
    ]
    results = await asyncio.gather(*[client.complete(r) for r in requests])
    await client.aclose()

    refused = [r for r in results if r.error is not None and r.error.kind == "budget"]
    answered = [r for r in results if r.ok]
    assert refused and answered and len(refused) + len(answered) == 30
    assert all(r.attempts == 0 and r.cost_usd == 0 for r in refused)
    status = await budgets.status(f"run:{run_id}")
    spent = sum(r.cost_usd for r in answered) + embedded.cost_usd
    assert embedded.ok and status.calls == len(answered) + 1
    assert status.spent_usd == pytest.approx(spent) and status.spent_usd <= cap
    assert status.reserved_usd == pytest.approx(0, abs=1e-12)
    stats = httpx.get(f"{sim.url}/stats").json()
    assert stats["requests_total"] == len(answered) + 1


async def test_many_calls_asking_whether_a_scope_is_capped_make_one_lookup(
    budgets: BudgetStore, redis_client: Any
) -> None:
    capped, free = _scope(), _scope()
    await budgets.set_limit(capped, 1.0)
    redis_client.config_resetstat()
    answers = await asyncio.gather(*(budgets.capped([capped, free]) for _ in range(300)))
    assert all(answer == [capped] for answer in answers)
    calls = redis_client.info("commandstats").get("cmdstat_hexists", {}).get("calls", 0)
    assert calls == 2  # one per scope, not one per call


async def test_a_runs_budget_keys_expire_but_a_users_stay(
    budgets: BudgetStore, redis_client: Any
) -> None:
    run, user = _scope(), f"user:{uuid.uuid4().hex[:8]}"
    for scope in (run, user):
        await budgets.set_limit(scope, 1.0)
    assert await budgets.reserve([run, user], "call-1", 0.1)
    assert await budgets.settle([run, user], "call-1", 0.05)
    run_ttls = [redis_client.ttl(f"af:budget:{{{run}}}{suffix}") for suffix in ("", ":settled")]
    assert all(0 < ttl <= 30 * 24 * 3600 for ttl in run_ttls), run_ttls
    assert redis_client.ttl(f"af:budget:{{{user}}}") == -1
    assert (await budgets.status(run)).spent_usd == pytest.approx(0.05)
