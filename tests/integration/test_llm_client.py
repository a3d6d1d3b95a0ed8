"""LLMClient against the simulator over HTTP: retries, fallback, routing, errors, embeddings."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.gateway_links import local_links, ray_links
from domain.errors import ConfigurationError, ValidationError
from domain.llm import Catalogue, FallbackPolicy, ModelSpec, RetryPolicy
from engine.llm import (
    CompletionRequest,
    LLMClient,
    default_catalogue,
    load_catalogue,
    simulator_account,
    simulator_catalogue,
)
from engine.simulator import Simulator, SimulatorConfig, credential_fingerprint, running_simulator

pytestmark = pytest.mark.integration
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


def _name() -> str:
    return f"cl-{uuid.uuid4().hex[:8]}"


def _ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"What is {i} * 3? {uuid.uuid4().hex[:6]}"}]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=11, latency_ms=10)) as simulator:
        yield simulator


@pytest.fixture(autouse=True, params=["http", "litellm"])
def call_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both call paths: our lean OpenAI-compatible HTTP and LiteLLM."""
    if request.param == "litellm":
        monkeypatch.setenv("AUTOFORGE_LITELLM_ONLY", "1")
    else:
        monkeypatch.delenv("AUTOFORGE_LITELLM_ONLY", raising=False)
    return str(request.param)


def _requests(simulator: Simulator) -> int:
    return int(httpx.get(f"{simulator.url}/stats").json()["requests_total"])


async def test_injected_5xx_are_retried_and_the_ledger_loses_no_call(
    ray_cluster: dict[str, Any], redis_url: str
) -> None:
    from actors.provider_gateway import get_gateway

    with running_simulator(SimulatorConfig(error_rate=0.2, seed=1)) as flaky:
        httpx.post(f"{flaky.url}/stats/reset")
        catalogue = simulator_catalogue(flaky.api_base, name=_name(), retry=FAST_RETRY)
        client = LLMClient(catalogue, redis_url=redis_url, links=ray_links(redis_url))
        results = await asyncio.gather(
            *[
                client.complete(CompletionRequest("openai/sim-small", _ask(i), run_id="flaky"))
                for i in range(60)
            ]
        )
        await client.aclose()
        stats = httpx.get(f"{flaky.url}/stats").json()

    failed = [r for r in results if not r.ok]
    for r in failed:
        assert r.error is not None and r.error.kind == "server" and r.error.retryable
        assert r.error.attempts == FAST_RETRY.max_attempts and r.error.status in (500, 503)
    assert len(failed) <= 2  # 0.2 ** 4 per call
    assert any(r.attempts > 1 for r in results if r.ok)
    totals = await get_gateway(catalogue.accounts[0]).usage.remote("run:flaky")
    assert totals["calls"] == 60 and totals["ok"] == 60 - len(failed)
    assert totals["requests"] == stats["requests_total"] == sum(r.attempts for r in results)
    assert totals["errors"] == stats["injected_errors"]
    assert totals["cost_usd"] == pytest.approx(sum(r.cost_usd for r in results))


async def test_fallback_answers_from_the_next_model_and_says_so(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    with running_simulator(SimulatorConfig(error_rate=1.0, seed=2)) as broken:
        a, b = _name(), _name()
        catalogue = Catalogue(
            accounts=(
                simulator_account(broken.api_base, name=a, retry=FAST_RETRY),
                simulator_account(sim.api_base, name=b, retry=FAST_RETRY),
            ),
            models=(
                ModelSpec("openai/sim-medium", a, 1e-6, 4e-6),
                ModelSpec("openai/sim-small", b, 0.15e-6, 0.6e-6),
            ),
            fallbacks=(FallbackPolicy(("openai/sim-medium", "openai/sim-small"), 2),),
        )
        client = LLMClient(catalogue, links=ray_links())
        result = await client.complete(CompletionRequest("openai/sim-medium", _ask(1)))
        await client.aclose()
        broken_requests = _requests(broken)
    assert result.ok and result.content
    assert result.model == "openai/sim-medium"
    assert result.model_used == result.fallback_model == "openai/sim-small"
    assert result.attempts == 3 and broken_requests == 2


async def test_a_model_the_provider_does_not_know_falls_back_at_once(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    base = simulator_catalogue(sim.api_base, name=_name(), retry=FAST_RETRY)
    catalogue = Catalogue(
        base.accounts,
        (*base.models, ModelSpec("openai/sim-gone", base.accounts[0].name)),
        (FallbackPolicy(("openai/sim-gone", "openai/sim-small")),),
    )
    client = LLMClient(catalogue, links=ray_links())
    result = await client.complete(CompletionRequest("openai/sim-gone", _ask(2)))
    await client.aclose()
    # A 404 is not retryable but another model may do: one attempt, then the next model.
    assert result.ok and result.fallback_model == "openai/sim-small" and result.attempts == 2


async def test_fatal_4xx_fail_at_once_with_the_providers_message(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    catalogue = simulator_catalogue(sim.api_base, name=_name(), retry=FAST_RETRY)
    catalogue = Catalogue(
        catalogue.accounts,
        (*catalogue.models, ModelSpec("openai/sim-gone", catalogue.accounts[0].name)),
    )
    client = LLMClient(catalogue, links=ray_links())
    gone = await client.complete(CompletionRequest("openai/sim-gone", _ask(1)))
    too_long = [{"role": "user", "content": "word " * 200_000}]
    bad = await client.complete(CompletionRequest("openai/sim-small", too_long))
    await client.aclose()
    assert gone.error is not None and gone.error.kind == "not_found"
    assert gone.error.status == 404 and gone.error.attempts == 1 and not gone.error.retryable
    assert "does not exist" in gone.error.message
    # LiteLLM names this 400 context_window; the lean path's classifier only reads the status.
    assert bad.error is not None and bad.error.kind in ("bad_request", "context_window")
    assert bad.error.status == 400 and bad.error.attempts == 1 and not bad.error.retryable
    assert "maximum context length" in bad.error.message
    assert pickle.loads(pickle.dumps(gone)) == gone  # plain data: crosses Ray as is


async def test_timeouts_are_classified_and_retried(ray_cluster: dict[str, Any]) -> None:
    with running_simulator(SimulatorConfig(timeout_rate=1.0, timeout_hang_s=5, seed=3)) as slow:
        catalogue = simulator_catalogue(
            slow.api_base, name=_name(), timeout_s=0.3,
            retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01),
        )  # fmt: skip
        client = LLMClient(catalogue, links=ray_links())
        result = await client.complete(CompletionRequest("openai/sim-small", _ask(1)))
        await client.aclose()
    assert result.error is not None and result.error.kind == "timeout"
    assert result.error.retryable and result.attempts == 2


async def test_bad_input_raises_before_any_call(
    ray_cluster: dict[str, Any], sim: Simulator, tmp_path: Path
) -> None:
    before = _requests(sim)
    client = LLMClient(simulator_catalogue(sim.api_base, name=_name()), links=ray_links())
    with pytest.raises(ValidationError, match="unknown model 'openai/sim-huge'"):
        await client.complete(CompletionRequest("openai/sim-huge", _ask(1)))
    with pytest.raises(ValidationError, match="api_base"):
        await client.complete(
            CompletionRequest("openai/sim-small", _ask(1), params={"api_base": "http://x"})
        )
    with pytest.raises(ValidationError, match="messages"):
        await client.complete(CompletionRequest("openai/sim-small", []))
    with pytest.raises(ValidationError):
        await client.embed("openai/sim-embed", [])

    keyless = LLMClient(default_catalogue(sim.api_base), env={}, links=ray_links())
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        await keyless.complete(CompletionRequest("openai/gpt-4o-mini", _ask(1)))
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        await keyless.embed("openai/text-embedding-3-small", ["hi"])

    path = tmp_path / "catalogue.yaml"
    path.write_text(
        "accounts:\n  - {name: sim, provider: openai, rpm: -5, requires_api_key: false}\n"
        "models:\n  - {name: openai/sim-small, account: sim}\n"
    )
    with pytest.raises(ValidationError, match=r"accounts\[0\]\.rpm: must be > 0, got -5"):
        load_catalogue(path)
    with pytest.raises(ConfigurationError):
        load_catalogue(tmp_path / "missing.yaml")
    await client.aclose()
    assert _requests(sim) == before


async def test_key_less_accounts_never_receive_the_servers_provider_key(
    ray_cluster: dict[str, Any], call_path: str
) -> None:
    server_key = f"sk-server-{uuid.uuid4().hex}"
    with (
        running_simulator(SimulatorConfig(seed=5)) as self_hosted,
        running_simulator(SimulatorConfig(seed=6, api_key=server_key)) as provider,
    ):
        free, paid = _name(), _name()
        catalogue = Catalogue(
            accounts=(
                simulator_account(self_hosted.api_base, name=free),
                replace(simulator_account(provider.api_base, name=paid), requires_api_key=True),
            ),
            models=(
                ModelSpec("openai/sim-small", free, 0.15e-6, 0.6e-6),
                ModelSpec("openai/sim-embed", free, 0.02e-6, 0.0, tags=frozenset({"embedding"})),
                ModelSpec("openai/sim-medium", paid, 1e-6, 4e-6),
            ),
        )
        client = LLMClient(catalogue, env={"OPENAI_API_KEY": server_key}, links=ray_links())
        results = [
            *[
                await client.complete(CompletionRequest("openai/sim-small", _ask(i)))
                for i in range(3)
            ],
            await client.embed("openai/sim-embed", ["a text"]),
            await client.complete(CompletionRequest("openai/sim-medium", _ask(9))),
        ]
        await client.aclose()
        seen_self_hosted = httpx.get(f"{self_hosted.url}/stats").json()["by_credential"]
        seen_provider = httpx.get(f"{provider.url}/stats").json()["by_credential"]
    assert all(r.ok for r in results)
    sent = credential_fingerprint(f"Bearer {server_key}")
    assert sent not in seen_self_hosted and sum(seen_self_hosted.values()) == 4
    assert seen_provider == {sent: 1}
    if call_path == "http":  # the lean path sends no header at all; embeddings use LiteLLM's
        assert seen_self_hosted["none"] == 3


async def test_routing_cheapest_and_lowest_latency(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    client = LLMClient(simulator_catalogue(sim.api_base, name=_name()), links=ray_links())
    cheap = await client.complete(
        CompletionRequest("openai/sim-small", _ask(1), routing="cheapest-that-qualifies",
                          min_skill=0.85)
    )  # fmt: skip
    assert cheap.ok and cheap.model_used == "openai/sim-judge"  # cheaper than sim-large
    assert cheap.fallback_model is None

    pair = ("openai/sim-large", "openai/sim-small")  # latency factors 2.0 and 0.5
    used = [
        (await client.complete(
            CompletionRequest("openai/sim-small", _ask(i), routing="lowest-latency",
                              candidates=pair, cache=False)
        )).model_used
        for i in range(4)
    ]  # fmt: skip
    await client.aclose()
    assert set(used[:2]) == set(pair)  # unobserved models are tried first
    assert used[2:] == ["openai/sim-small"] * 2
    assert (
        client.observed_latency_ms["openai/sim-large"]
        > client.observed_latency_ms["openai/sim-small"]
    )


async def test_embeddings_go_through_the_gateway_and_cost(
    ray_cluster: dict[str, Any], sim: Simulator
) -> None:
    from actors.provider_gateway import get_gateway

    catalogue = simulator_catalogue(sim.api_base, name=_name())
    client = LLMClient(catalogue, links=ray_links())
    result = await client.embed("openai/sim-embed", ["red apples", "green apples", "a car"])
    await client.aclose()
    assert result.ok and len(result.vectors) == 3 and len(result.vectors[0]) == 64
    assert result.usage.prompt_tokens > 0 and result.cost_usd > 0
    totals = await get_gateway(catalogue.accounts[0]).usage.remote("model:openai/sim-embed")
    assert totals["calls"] == 1 and totals["cost_usd"] == pytest.approx(result.cost_usd)


async def test_logprobs_asked_for_come_back_and_are_cached(redis_url: str, sim: Simulator) -> None:
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=_name()), redis_url=redis_url, links=local_links()
    )
    request = CompletionRequest("openai/sim-small", _ask(7), params={"logprobs": True})
    first = await client.complete(request)
    hit = await client.complete(replace(request, call_id="again"))
    plain = await client.complete(CompletionRequest("openai/sim-small", _ask(8)))
    await client.aclose()
    assert first.ok and first.logprobs and len(first.logprobs) == len(first.content.split())
    assert all(x < 0 for x in first.logprobs)
    assert hit.cached and hit.logprobs == first.logprobs
    assert plain.ok and plain.logprobs is None


async def test_moderation_goes_through_permits_retries_and_the_cache(redis_url: str) -> None:
    with running_simulator(SimulatorConfig(seed=3, error_rate=0.5)) as flaky:
        catalogue = simulator_catalogue(flaky.api_base, name=_name(), retry=FAST_RETRY)
        client = LLMClient(catalogue, redis_url=redis_url, links=local_links())
        text = f"you idiot {uuid.uuid4().hex}"
        first = await client.moderate("openai/sim-moderation", text)
        again = await client.moderate("openai/sim-moderation", text)
        clean = await client.moderate("openai/sim-moderation", f"hello {uuid.uuid4().hex}")
        with pytest.raises(ValidationError, match="unknown model"):
            await client.moderate("openai/omni-moderation-latest", text)
        await client.aclose()
        stats = flaky.stats()
    assert first.ok and first.flagged and first.categories["harassment"]
    assert not first.categories["violence"] and first.category_scores["harassment"] > 0.5
    assert again.cached and again.attempts == 0 and again.categories == first.categories
    assert clean.ok and not clean.flagged and not clean.cached
    # Each attempt is one request: the OpenAI SDK under LiteLLM retries nothing on its own.
    assert first.attempts + clean.attempts > 2  # seed 3 injects failures
    assert stats["by_route"]["POST /v1/moderations"] == first.attempts + clean.attempts


async def test_latency_is_the_provider_call_and_waits_are_queue_time(redis_url: str) -> None:
    # sim-small answers in 100 ms × 0.5; two permits for twelve calls: most calls wait.
    with running_simulator(SimulatorConfig(seed=5, latency_ms=100)) as slow:
        catalogue = simulator_catalogue(slow.api_base, name=_name(), max_concurrency=2)
        client = LLMClient(catalogue, redis_url=redis_url, links=local_links())
        asks = [_ask(i) for i in range(12)]
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *[client.complete(CompletionRequest("openai/sim-small", ask)) for ask in asks]
        )
        wall_ms = (asyncio.get_running_loop().time() - started) * 1000
        hit = await client.complete(CompletionRequest("openai/sim-small", asks[0]))
        await client.aclose()

    assert all(r.ok and not r.cached for r in results)
    assert all(45 <= r.latency_ms < 200 for r in results), [r.latency_ms for r in results]
    queued = sorted(r.queue_ms for r in results)
    assert queued[-1] >= 200  # the last pair waited for five pairs before it
    assert all(r.latency_ms + r.queue_ms <= wall_ms + 1 for r in results)
    assert hit.cached and hit.queue_ms == 0 and hit.latency_ms < 45


async def test_a_streamed_answer_arrives_in_pieces_that_make_the_whole(
    redis_url: str, sim: Simulator
) -> None:
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=_name()), redis_url=redis_url, links=local_links()
    )
    heard: list[str | None] = []

    async def on_delta(text: str | None) -> None:
        heard.append(text)

    messages = [{"role": "user", "content": "Write a sentence about tides. " + _name()}]
    request = CompletionRequest("openai/sim-small", messages, cache=False, on_delta=on_delta)
    streamed = await client.complete(request)
    plain = await client.complete(CompletionRequest("openai/sim-small", messages, cache=False))
    await client.aclose()
    assert streamed.ok and streamed.content == plain.content
    assert heard[0] is None and None not in heard[1:]  # one attempt, announced before it
    pieces = [t for t in heard if t is not None]
    assert "".join(pieces) == streamed.content and len(pieces) == len(plain.content.split()) > 1
    assert streamed.usage.completion_tokens == plain.usage.completion_tokens > 0
    assert streamed.cost_usd == pytest.approx(plain.cost_usd)


async def test_a_streamed_answer_carries_the_same_tool_calls_as_a_whole_one(
    redis_url: str, sim: Simulator
) -> None:
    client = LLMClient(
        simulator_catalogue(sim.api_base, name=_name()), redis_url=redis_url, links=local_links()
    )
    heard: list[str | None] = []

    async def on_delta(text: str | None) -> None:
        heard.append(text)

    weather = {"type": "object", "properties": {"city": {"type": "string"}},
               "required": ["city"]}  # fmt: skip
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": weather}}]
    params = {"tools": tools, "tool_choice": "required"}
    messages = [{"role": "user", "content": "What is the weather in Lyon? " + _name()}]
    streamed = await client.complete(
        CompletionRequest(
            "openai/sim-small", messages, params=params, cache=False, on_delta=on_delta
        )  # fmt: skip
    )
    plain = await client.complete(
        CompletionRequest("openai/sim-small", messages, params=params, cache=False)
    )
    await client.aclose()
    assert streamed.ok and plain.ok
    assert [c.name for c in streamed.tool_calls] == ["get_weather"]
    assert streamed.tool_calls == plain.tool_calls
    assert streamed.finish_reason == plain.finish_reason == "tool_calls"
