"""Flows against single prompts in one engine (issue 15's benchmark).

    .venv/bin/python bench/flows.py [--cases 2000] [--latency-ms 100] [--concurrency 256]
        [--executor ray|inline]

One engine, one simulator subprocess (`sim-medium`: answers in exactly ``--latency-ms``):
first ``3 × cases`` single-prompt cells, then a 3-call flow (classify → condition → answer →
check: three LLM steps and a condition) on ``cases`` cases, both with the same concurrency,
no response cache. Prints provider calls/s of each (requests served by the simulator over
the run's wall time) and their ratio (target ≥ 90%), the evaluators' CPU per cell and per
flow step (from their processes' CPU time), and the interpreter's own CPU per step measured
apart, with LLM calls that answer at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "openai/sim-medium"
FLOW: dict[str, Any] = {
    "inputs": ["a", "b"],
    "output": "check",
    "steps": [
        {"name": "classify", "kind": "llm", "prompt": "bench-classify"},
        {
            "name": "route",
            "kind": "condition",
            "when": {"var": "classify", "contains": "positive"},
            "then": "praise",
            "otherwise": "answer",
        },
        {
            "name": "praise",
            "kind": "llm",
            "prompt": "bench-answer",
            "output": "answer",
            "next": "check",
        },
        {"name": "answer", "kind": "llm", "prompt": "bench-answer"},
        {"name": "check", "kind": "llm", "prompt": "bench-check"},
    ],
}


def evaluator_cpu_s(root: psutil.Process) -> float:
    """CPU seconds of this process's evaluators so far: Ray names their processes
    ``ray::Evaluator``; inline, the evaluators run in this process (counted whole)."""
    total = 0.0
    found = False
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any("Evaluator" in part for part in proc.info["cmdline"] or ()):
                times = proc.cpu_times()
                total += times.user + times.system
                found = True
        except psutil.Error:
            pass
    if not found:
        times = root.cpu_times()
        total = times.user + times.system
    return total


def requests_served(url: str) -> int:
    return int(httpx.get(f"{url}/stats").json()["requests_total"])


def timed_run(engine: Any, url: str, **kwargs: Any) -> tuple[float, int, float, Any]:
    me = psutil.Process()
    before, cpu = requests_served(url), evaluator_cpu_s(me)
    started = time.perf_counter()
    run = engine.evaluate(**kwargs)
    info = run.wait(progress=False)
    elapsed = time.perf_counter() - started
    return elapsed, requests_served(url) - before, evaluator_cpu_s(me) - cpu, info


def interpreter_cpu_per_step(flow: Any, prompts: dict[str, Any], n: int = 2000) -> float:
    """CPU ms per step of `FlowExecution` alone: its LLM calls answer at once, in-process."""
    from domain.datasets import TestCase
    from engine.evaluation.flow_runner import CellCall, FlowExecution, FlowPlan
    from engine.llm.types import CompletionResult, Usage

    async def instant(request: Any) -> CompletionResult:
        return CompletionResult(
            call_id=request.call_id,
            model=request.model,
            model_used=request.model,
            content="positive 42",
            usage=Usage(10, 2),
            latency_ms=0.0,
        )

    plan = FlowPlan(flow, prompts)
    call = CellCall(
        route={"model": MODEL},
        params={},
        repeat=0,
        cache=False,
        run_id="b",
        owner="o",
        call_id="b:c",
    )

    async def go() -> int:
        steps = 0
        for i in range(n):
            case = TestCase(id=f"c{i}", variables={"a": i, "b": 2})
            done = await FlowExecution(plan, case, call, instant).run()
            steps += len(done.trace)
        return steps

    started = time.process_time()
    steps = asyncio.run(go())
    return (time.process_time() - started) * 1000 / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--executor", default="ray", choices=("ray", "inline"))
    args = parser.parse_args()

    from engine import Engine
    from engine.llm import simulator_catalogue
    from engine.simulator import SimulatorConfig, simulator_subprocess

    flow_cases = [{"id": f"f{i}", "vars": {"a": i, "b": i % 7}} for i in range(args.cases)]
    prompt_cases = [{"id": f"p{i}", "vars": {"a": i, "b": i % 7}} for i in range(3 * args.cases)]
    config = SimulatorConfig(latency_ms=args.latency_ms, seed=1)
    common = {"models": [MODEL], "cache": False, "concurrency": args.concurrency}
    with simulator_subprocess(config) as url, tempfile.TemporaryDirectory() as data:
        with Engine(data_dir=Path(data), executor=args.executor) as engine:
            engine.use_catalogue(
                simulator_catalogue(f"{url}/v1", max_concurrency=max(64, args.concurrency))
            )
            engine.prompts.create("bench", "What is {{a}} + {{b}}?")
            engine.prompts.create("bench-classify", "Sentiment of: I love {{a}} and {{b}}")
            engine.prompts.create("bench-answer", "What is {{a}} + {{b}}? ({{ classify }})")
            engine.prompts.create("bench-check", "Is {{ answer }} the sum of {{a}} and {{b}}?")
            engine.flows.create("bench", FLOW)
            engine.datasets.create("flow-cases")
            engine.datasets.add("flow-cases", flow_cases)
            engine.datasets.create("prompt-cases")
            engine.datasets.add("prompt-cases", prompt_cases)
            warm = engine.evaluate(prompt="bench", dataset="flow-cases", **common)
            warm.wait(progress=False)  # actors up, connections open
            p_wall, p_calls, p_cpu, p_info = timed_run(
                engine, url, prompt="bench", dataset="prompt-cases", seed=3, **common
            )
            f_wall, f_calls, f_cpu, f_info = timed_run(
                engine, url, flow="bench", dataset="flow-cases", seed=3, **common
            )
            flow_version = engine.flows.get("bench")
            _, plan, _ = engine.flows.plan("bench", "main")
        p_rate, f_rate = p_calls / p_wall, f_calls / f_wall
        ideal = 3 * args.cases * args.latency_ms / 1000 / args.concurrency
        print(
            f"single prompt: {3 * args.cases} cells, {p_calls} calls in {p_wall:.2f} s = "
            f"{p_rate:.1f} calls/s ({p_info.status.value}); ideal {ideal:.2f} s"
        )
        print(
            f"flow:          {args.cases} cells x 3 LLM steps, {f_calls} calls in {f_wall:.2f} s"
            f" = {f_rate:.1f} calls/s ({f_info.status.value}); ideal {ideal:.2f} s "
            f"(each cell's 3 calls are sequential)"
        )
        print(f"ratio flow / single prompt calls/s: {f_rate / p_rate * 100:.1f} % (target >= 90 %)")
        print(
            f"evaluator CPU: {p_cpu * 1000 / p_calls:.2f} ms per single-prompt cell, "
            f"{f_cpu * 1000 / max(1, f_calls):.2f} ms per flow LLM step "
            f"({f_cpu * 1000 / args.cases / 4:.2f} ms per step, condition included) "
            f"[{args.executor} executor]"
        )
        per_step = interpreter_cpu_per_step(flow_version.flow, plan.prompts)
        print(f"interpreter alone: {per_step:.3f} ms CPU per step (target < 1 ms)")


if __name__ == "__main__":
    main()
