"""End-to-end evaluation throughput against the simulator (issue #5 targets).

    .venv/bin/python bench/eval_throughput.py [--cells 10000] [--latency-ms 0] [--concurrency 256]
        [--executor ray|inline]

Prints: cells/s recorded in the DB by the engine, the same machine's plain
`asyncio` + `litellm.acompletion` loop on the same simulator, their ratio, peak RSS of the
whole engine (every process it started), and wall time against the ideal
cells × latency / concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def tree_rss_mb(root: psutil.Process) -> float:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


class PeakRss:
    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, tree_rss_mb(me))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def plain_loop(api_base: str, calls: int, concurrency: int) -> float:
    import litellm

    litellm.suppress_debug_info = True
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await litellm.acompletion(
                model="openai/sim-small",
                api_base=api_base,
                api_key="x",
                num_retries=0,
                messages=[{"role": "user", "content": f"Q{i}: what is {i} + 1? ({i})"}],
            )

    await one(-1)  # warm up the client
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return calls / (time.perf_counter() - started)


def gateway_leases(engine: Any, model: str) -> float:
    """Leases the model's gateway granted so far: each is two gateway RPCs."""
    import ray

    from actors.provider_gateway import get_gateway

    account = engine.catalogue.account_for(engine.catalogue.model(model))
    status = ray.get(get_gateway(account).status.remote())
    return float(status["issued"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--baseline-calls", type=int, default=3_000)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--account-concurrency", type=int, default=0)
    parser.add_argument("--executor", default="ray", choices=("ray", "inline"))
    args = parser.parse_args()

    from engine import Engine
    from engine.llm import simulator_catalogue
    from engine.simulator import SIMULATED_MODELS, SimulatorConfig, simulator_subprocess

    repeats = 4
    cases = [
        {"id": f"c{i}", "vars": {"a": i, "b": i % 7}, "expected": str(i + i % 7)}
        for i in range(args.cells // repeats)
    ]
    config = SimulatorConfig(latency_ms=args.latency_ms, seed=1)
    with simulator_subprocess(config) as url, tempfile.TemporaryDirectory() as data:
        api_base = f"{url}/v1"
        baseline = 0.0
        if not args.no_baseline:
            baseline = asyncio.run(plain_loop(api_base, args.baseline_calls, args.concurrency))
            print(
                f"plain asyncio + litellm loop: {baseline:8.1f} calls/s "
                f"({args.baseline_calls} calls, concurrency {args.concurrency})"
            )
        with PeakRss() as rss, Engine(data_dir=Path(data), executor=args.executor) as engine:
            engine.use_catalogue(
                simulator_catalogue(
                    api_base, max_concurrency=args.account_concurrency or max(64, args.concurrency)
                )
            )
            engine.prompts.create("bench", "What is {{a}} + {{b}}?")
            engine.datasets.create("bench")
            engine.datasets.add("bench", cases)
            warm = engine.evaluate(
                prompt="bench",
                dataset="bench",
                models=["openai/sim-small"],
                scorers=["contains"],
                cache=False,
                repeats=1,
                concurrency=args.concurrency,
            )
            warm.wait(progress=False)  # actors up, LiteLLM imported, connections open
            httpx.post(f"{url}/stats/reset")
            started = time.perf_counter()
            run = engine.evaluate(
                prompt="bench",
                dataset="bench",
                models=["openai/sim-small"],
                scorers=["contains"],
                cache=False,
                repeats=repeats,
                seed=9,
                concurrency=args.concurrency,
            )
            info = run.wait(progress=False)
            elapsed = time.perf_counter() - started
            leases = gateway_leases(engine, "openai/sim-small") if args.executor == "ray" else 0
            recorded = engine.evaluations.runs.recorded_count(run.id)
        served = httpx.get(f"{url}/stats").json()
        total = len(cases) * repeats
        rate = recorded / elapsed
        print(
            f"engine end to end:            {rate:8.1f} cells/s ({recorded}/{total} cells "
            f"recorded, status {info.status.value}, {elapsed:.2f} s)"
        )
        if baseline:
            print(f"ratio engine / plain loop:    {rate / baseline * 100:8.1f} %")
        span = served["last_response_at"] - served["first_request_at"]
        print(
            f"requests at the simulator:    {span:8.2f} s span, in flight "
            f"{served['mean_in_flight']:.1f} on average, {served['max_in_flight']} at peak "
            f"(concurrency {args.concurrency})"
        )
        print(f"peak RSS of the whole engine: {rss.peak:8.0f} MiB ({args.executor} executor)")
        if leases:
            each = total / leases
            print(f"gateway leases (both runs):   {leases:8.0f} (~{each:.0f} cells each)")
        if args.latency_ms:
            # sim-small answers in half the configured latency: the ideal once read 2× too high.
            latency_ms = args.latency_ms * SIMULATED_MODELS["sim-small"].latency_factor
            ideal = total * latency_ms / 1000 / args.concurrency
            print(
                f"ideal wall time:              {ideal:8.2f} s "
                f"(cells × {latency_ms:.0f} ms / concurrency); measured {elapsed:.2f} s "
                f"= {elapsed / ideal * 100 - 100:+.0f}%, span {span / ideal * 100 - 100:+.0f}%"
            )


if __name__ == "__main__":
    main()
