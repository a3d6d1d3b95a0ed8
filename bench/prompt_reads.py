"""Prompt read latency through the SDK on a prompt with 1,000 commits.

Starts an embedded engine (libSQL file, Ray, Redis) in a temporary data directory, commits
1,000 versions through the shard actors, then times the reads the SDK answers from the
projections: head, a log page of 50 (first and deep), a diff between far versions, show.

    LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python bench/prompt_reads.py [--iterations 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine import Engine
from engine.prompts.queries import PromptQueries
from engine.sdk.prompts import Prompts

COMMITS = 1000
TEMPLATE = (
    "You are a careful assistant. Summarise the document below for {{ audience }} in at most "
    "{{ words }} words, keeping names, numbers and dates exact.\n\nDocument:\n{{ document }}\n"
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def measure(name: str, call: Callable[[], object], iterations: int) -> tuple[str, float, float]:
    for _ in range(min(20, iterations)):
        call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentiles(samples)
    return name, p50, p95


def build(prompts: Prompts, workers: int) -> list[float]:
    prompts.create("bench", TEMPLATE + "v0", settings={"model": "gpt-4o-mini"})
    latencies: list[float] = []

    def commit(i: int) -> None:
        started = time.perf_counter()
        prompts.commit("bench", f"{TEMPLATE}v{i}", message=f"revision {i}")
        latencies.append((time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(commit, range(1, COMMITS)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--writers", type=int, default=4, help="threads committing")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="af-bench-") as tmp,
        Engine(data_dir=Path(tmp), ray_num_cpus=2) as engine,
    ):
        prompts = engine.prompts
        started = time.perf_counter()
        commit_ms = build(prompts, args.writers)
        built = time.perf_counter() - started
        log = prompts.log("bench", limit=COMMITS)
        assert len(log) == COMMITS, len(log)
        old, new, middle = log[-10].id, log[9].id, log[COMMITS // 2]
        db = engine.runtime.db
        assert db is not None
        results = [
            measure("head (main)", lambda: prompts.head("bench"), args.iterations),
            measure(
                "head, cold version cache",
                lambda: PromptQueries(db, engine.owner).head("bench"),
                args.iterations,
            ),
            measure("log page of 50 (newest)", lambda: prompts.log("bench"), args.iterations),
            measure(
                "log page of 50 (before v500)",
                lambda: prompts.log("bench", before=middle.id),
                args.iterations,
            ),
            measure("diff v10 .. v990", lambda: prompts.diff("bench", old, new), args.iterations),
            measure(
                "show (12-digit id prefix)",
                lambda: prompts.show("bench", middle.id[:12]),
                args.iterations,
            ),
        ]
    p50, p95 = percentiles(commit_ms)
    print(f"built {COMMITS} versions in {built:.1f} s with {args.writers} writer threads")
    print(f"commit through a shard actor: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(f"\n{'read (' + str(args.iterations) + ' iterations)':<32}{'p50 ms':>9}{'p95 ms':>9}")
    for name, p50, p95 in results:
        print(f"{name:<32}{p50:>9.3f}{p95:>9.3f}")


if __name__ == "__main__":
    main()
