"""What does the gateway path cost per call, next to calling LiteLLM directly?

Starts its own embedded Redis, Ray (2 CPUs) and a simulator subprocess at 0 ms latency, then
in this process, at the same concurrency, alternates rounds of:

* ``plain``: ``asyncio`` + ``litellm.acompletion`` (no limits, no cache, no ledger);
* ``gateway``: `LLMClient.complete` with ``cache=False`` (no cache read or write; permits
  leased from the gateway actor; usage reported to it);
* ``gateway, no redis``: the same client without Redis (no budgets or cache at all).

OpenAI-compatible accounts with an ``api_base`` (the simulator) are served by
`engine.llm.openai_http`, not LiteLLM, unless ``AUTOFORGE_LITELLM_ONLY=1``: set it to compare
like for like with the plain LiteLLM loop. The path in use is printed.

Usage: ``.venv/bin/python bench/gateway_overhead.py [--calls 1000] [--concurrency 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from actors.gateway_links import ray_links

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from engine.llm import CompletionRequest, LLMClient, simulator_catalogue  # noqa: E402
from engine.llm.provider import NO_KEY, litellm_module  # noqa: E402
from engine.ray_runtime import start_ray, stop_ray, worker_env  # noqa: E402
from engine.redis_embedded import EmbeddedRedis  # noqa: E402
from engine.simulator import SimulatorConfig, simulator_subprocess  # noqa: E402

Call = Callable[[str], Awaitable[bool]]
MODEL = "openai/sim-small"


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


async def _round(call: Call, calls: int, concurrency: int) -> tuple[float, float, int]:
    """(calls/s, driver CPU ms per call, failures) of one round."""
    tag = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> bool:
        async with gate:
            return await call(f"What is {i} + 1? ({tag})")

    start, cpu = time.perf_counter(), time.process_time()
    ok = await asyncio.gather(*[one(i) for i in range(calls)])
    cpu_ms = (time.process_time() - cpu) * 1000 / calls
    return calls / (time.perf_counter() - start), cpu_ms, calls - sum(ok)


async def bench(api_base: str, redis_url: str, calls: int, concurrency: int, rounds: int) -> None:
    litellm = litellm_module()
    catalogue = simulator_catalogue(api_base, rpm=600_000, max_concurrency=1024, name="overhead")
    with_redis = LLMClient(catalogue, redis_url=redis_url, max_lease=64, links=ray_links(redis_url))
    without_redis = LLMClient(catalogue, max_lease=64, links=ray_links())

    async def plain(prompt: str) -> bool:
        await litellm.acompletion(
            model=MODEL, messages=_messages(prompt), api_base=api_base, api_key=NO_KEY,
            timeout=30, num_retries=0,
        )  # fmt: skip
        return True

    def through(client: LLMClient) -> Call:
        async def call(prompt: str) -> bool:
            result = await client.complete(CompletionRequest(MODEL, _messages(prompt), cache=False))
            return result.ok

        return call

    paths: dict[str, Call] = {
        "plain litellm": plain,
        "gateway path": through(with_redis),
        "gateway path, no redis": through(without_redis),
    }
    for call in paths.values():  # warm up: imports, HTTP pools, actor, Redis scripts
        await _round(call, 100, concurrency)
    rates: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    failed = dict.fromkeys(paths, 0)
    for _ in range(rounds):
        for name, call in paths.items():
            rate, cpu_ms, lost = await _round(call, calls, concurrency)
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
            failed[name] += lost
    await with_redis.aclose()
    await without_redis.aclose()

    from engine.llm import openai_http

    lean = openai_http.applies_to(catalogue.accounts[0])
    path = "engine.llm.openai_http (lean)" if lean else "litellm.acompletion"
    print(f"\n== {calls} calls x {rounds} rounds, concurrency {concurrency}, 0 ms simulator")
    print(f"   gateway path sends through: {path}")
    base = statistics.median(rates["plain litellm"])
    base_cpu = statistics.median(cpu["plain litellm"])
    for name, values in rates.items():
        median, cpu_ms = statistics.median(values), statistics.median(cpu[name])
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:24s} median {median:6.1f} calls/s  ratio {median / base:5.1%}  "
              f"cpu {cpu_ms:.2f} ms/call (x{cpu_ms / base_cpu:.2f})  failed {failed[name]}  "
              f"rounds [{shown}]")  # fmt: skip
    ratio = statistics.median(rates["gateway path"]) / base
    cpu_ratio = base_cpu / statistics.median(cpu["gateway path"])
    print(f"\n== target: gateway path >= 85% of plain: {ratio:.1%} ({ratio >= 0.85}); "
          f"by driver CPU per call: {cpu_ratio:.1%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="af-bench-") as tmp:
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            start_ray(None, 2, worker_env(AUTOFORGE_REDIS_URL=redis_server.url))
            try:
                config = SimulatorConfig(latency_ms=0, seed=1)
                with simulator_subprocess(config) as url:
                    asyncio.run(
                        bench(f"{url}/v1", redis_server.url, args.calls, args.concurrency,
                              args.rounds)
                    )  # fmt: skip
            finally:
                stop_ray()


if __name__ == "__main__":
    main()
