"""Does a run go as fast as the provider allows, and not a request faster?

Starts its own embedded Redis, Ray (2 CPUs) and one simulator subprocess per scenario
(``rpm=1200``, 50 ms latency), then drives evaluator actors that each own an `LLMClient`:

1. 600 calls from 4 evaluators: throughput vs the limit, failures, 429s seen by the simulator.
2. Two runs (2 evaluators each) sharing the same limit: each run's rate and their sum.

Usage: ``.venv/bin/python bench/gateway_rate_limit.py [--calls 600] [--rpm 1200]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from actors.gateway_links import ray_links

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402
import ray  # noqa: E402

from domain.llm import Catalogue  # noqa: E402
from engine.llm import simulator_catalogue  # noqa: E402
from engine.ray_runtime import start_ray, stop_ray, worker_env  # noqa: E402
from engine.redis_embedded import EmbeddedRedis  # noqa: E402
from engine.simulator import SimulatorConfig, simulator_subprocess  # noqa: E402

CONCURRENCY = 16  # calls in flight per evaluator


@ray.remote(num_cpus=0)
class Evaluator:
    """A minimal evaluator: an async actor owning one LLMClient."""

    def __init__(self, catalogue: Catalogue, redis_url: str) -> None:
        from engine.llm import LLMClient
        from engine.llm.provider import litellm_module

        litellm_module()  # pay the import before the clock starts
        self.client = LLMClient(catalogue, redis_url=redis_url, links=ray_links(redis_url))

    async def ready(self) -> bool:
        return True

    async def run(self, prompts: list[str], concurrency: int) -> dict[str, Any]:
        from engine.llm import CompletionRequest

        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> Any:
            async with gate:
                messages = [{"role": "user", "content": prompt}]
                request = CompletionRequest("openai/sim-small", messages, cache=False)
                return await self.client.complete(request)

        start = time.time()
        results = await asyncio.gather(*[one(p) for p in prompts])
        end = time.time()
        await self.client.flush()
        return {
            "start": start,
            "end": end,
            "ok": sum(r.ok for r in results),
            "errors": Counter(r.error.kind for r in results if r.error),
            "rate_limited": sum(r.rate_limited for r in results),
            "leases": sum(pool.leases for pool in self.client._pools.values()),
        }


def _prompts(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"What is {i} + {i}? ({tag})" for i in range(n)]


def _run_groups(
    catalogue: Catalogue, redis_url: str, groups: list[int], calls_per_group: int
) -> list[list[dict[str, Any]]]:
    actors = [[Evaluator.remote(catalogue, redis_url) for _ in range(n)] for n in groups]
    ray.get([a.ready.remote() for group in actors for a in group])
    refs = []
    for group in actors:
        prompts = _prompts(calls_per_group)
        share = len(prompts) // len(group)
        refs.append(
            [
                a.run.remote(prompts[i * share : (i + 1) * share], CONCURRENCY)
                for i, a in enumerate(group)
            ]
        )
    reports = [ray.get(group_refs) for group_refs in refs]
    for group in actors:
        for a in group:
            ray.kill(a)
    return reports


def _summary(reports: list[dict[str, Any]]) -> tuple[int, float, float, Counter[str]]:
    ok = sum(r["ok"] for r in reports)
    start = min(r["start"] for r in reports)
    end = max(r["end"] for r in reports)
    errors: Counter[str] = Counter()
    for r in reports:
        errors.update(r["errors"])
    return ok, start, end, errors


def scenario(
    name: str, rpm: int, calls: int, groups: list[int], redis_url: str
) -> dict[str, float]:
    config = SimulatorConfig(rpm=rpm, latency_ms=50, seed=1)
    with simulator_subprocess(config) as url:
        account = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        catalogue = simulator_catalogue(f"{url}/v1", rpm=rpm, name=account)
        httpx.post(f"{url}/stats/reset")
        per_group = calls // len(groups)
        reports = _run_groups(catalogue, redis_url, groups, per_group)
        stats = httpx.get(f"{url}/stats").json()
    limit = rpm / 60
    print(f"\n== {name}: {calls} calls, groups of evaluators {groups}, limit {limit:.1f} req/s")
    all_reports = [r for group in reports for r in group]
    ok, start, end, errors = _summary(all_reports)
    elapsed = end - start
    for i, group in enumerate(reports):
        g_ok, g_start, g_end, _ = _summary(group)
        g_time = g_end - g_start
        print(f"  run {i + 1}: {g_ok} ok in {g_time:.2f} s = {g_ok / g_time:.2f} req/s")
    throughput = stats["requests_total"] / elapsed
    denied = stats["rate_limited"] / max(1, stats["requests_total"])
    print(
        f"  total: {ok}/{calls} ok in {elapsed:.2f} s -> {throughput:.2f} req/s "
        f"= {throughput / limit:.1%} of the limit"
    )
    print(f"  failed calls: {calls - ok} {dict(errors) or ''}")
    print(
        f"  simulator: {stats['requests_total']} requests, {stats['rate_limited']} answered 429 "
        f"({denied:.2%}), by status {stats['by_status']}"
    )
    print(f"  leases granted: {sum(r['leases'] for r in all_reports)}")
    return {"throughput": throughput, "limit": limit, "failed": calls - ok, "denied": denied}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--rpm", type=int, default=1200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="af-bench-") as tmp:
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            start_ray(None, 2, worker_env(AUTOFORGE_REDIS_URL=redis_server.url))
            try:
                one = scenario("one-run", args.rpm, args.calls, [4], redis_server.url)
                two = scenario("two-runs", args.rpm, args.calls, [2, 2], redis_server.url)
            finally:
                stop_ray()
    print("\n== targets")
    for name, r in (("one run", one), ("two runs", two)):
        print(f"  {name}: throughput {r['throughput']:.2f} req/s "
              f"(>= {0.95 * r['limit']:.2f}: {r['throughput'] >= 0.95 * r['limit']}; "
              f"<= {r['limit']:.2f}: {r['throughput'] <= r['limit']}), "
              f"failed {r['failed']:.0f} (0: {r['failed'] == 0}), "
              f"429s {r['denied']:.2%} (< 1%: {r['denied'] < 0.01})")  # fmt: skip


if __name__ == "__main__":
    main()
