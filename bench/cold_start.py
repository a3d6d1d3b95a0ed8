"""A cold process doing one evaluation, phase by phase (issue #11, item 1).

    .venv/bin/python bench/cold_start.py [--cells 1000] [--latency-ms 0] [--concurrency 32]
        [--repeat 3] [--executor auto|inline|ray] [--source CHECKOUT]

Starts the simulator as its own process, then runs the workload in a fresh Python process
per repetition (fresh data dir, nothing running): ``Engine(catalogue_path=…)``,
``prompts.create``, ``datasets.import_file``, ``evaluate(cache=False)``, ``wait()``, close.
Prints each repetition's phases (the engine's own timings plus the script's) and the
medians of the process wall time. ``--source`` runs the workload on another checkout's code
(e.g. ``git archive main``) for a before/after on the same machine and simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(cells: int, concurrency: int, catalogue: str, cases: str) -> None:
    """The cold workload; prints one JSON line of phases (seconds) on stdout."""
    started = time.perf_counter()
    os.environ["AUTOFORGE_TIMINGS"] = "1"
    from engine import Engine

    phases: dict[str, float] = {"import": time.perf_counter() - started}
    mark = time.perf_counter()
    engine = Engine(catalogue_path=catalogue)
    phases["Engine()"] = time.perf_counter() - mark
    mark = time.perf_counter()
    engine.prompts.create("bench", "What is {{a}} + {{b}}?")
    engine.datasets.import_file("bench", cases)
    phases["setup"] = time.perf_counter() - mark
    mark = time.perf_counter()
    run = engine.evaluate(
        prompt="bench",
        dataset="bench",
        models=["openai/sim-small"],
        scorers=["contains"],
        cache=False,
        concurrency=concurrency,
    )
    phases["evaluate()"] = time.perf_counter() - mark
    mark = time.perf_counter()
    info = run.wait(progress=False)
    phases["wait()"] = time.perf_counter() - mark
    recorded = run.recorded()
    executor = getattr(engine.runtime, "executor", "ray")  # older checkouts: always Ray
    mark = time.perf_counter()
    engine.close()
    phases["close"] = time.perf_counter() - mark
    timings = engine.timings() if hasattr(engine, "timings") else {}  # teardown included
    phases["wall"] = time.perf_counter() - started
    print(
        json.dumps(
            {
                "phases": phases,
                "timings": timings,
                "status": info.status.value,
                "recorded": recorded,
                "cells": cells,
                "executor": executor,
            }
        )
    )


def write_inputs(directory: Path, api_base: str, cells: int) -> tuple[Path, Path]:
    from engine.llm import simulator_catalogue

    catalogue = directory / "catalogue.json"
    catalogue.write_text(json.dumps(simulator_catalogue(api_base, max_concurrency=256).to_dict()))
    cases = directory / "cases.jsonl"
    with cases.open("w") as out:
        for i in range(cells):
            case = {"id": f"c{i}", "vars": {"a": i, "b": i % 7}, "expected": str(i + i % 7)}
            out.write(json.dumps(case) + "\n")
    return catalogue, cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=1_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executor", default="auto", choices=("auto", "inline", "ray"))
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose code runs")
    parser.add_argument("--worker", nargs=2, metavar=("CATALOGUE", "CASES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.cells, args.concurrency, *args.worker)
        return

    from engine.simulator import SimulatorConfig, simulator_subprocess

    config = SimulatorConfig(latency_ms=args.latency_ms, seed=1)
    walls: list[float] = []
    with simulator_subprocess(config) as url, tempfile.TemporaryDirectory() as scratch:
        catalogue, cases = write_inputs(Path(scratch), f"{url}/v1", args.cells)
        for index in range(args.repeat):
            data_dir = Path(scratch) / f"data-{index}"
            env = {
                **os.environ,
                "AUTOFORGE_DATA_DIR": str(data_dir),
                "AUTOFORGE_EXECUTOR": args.executor,
                "PYTHONPATH": str(args.source),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            }
            env.pop("RAY_ADDRESS", None)
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--cells",
                    str(args.cells),
                    "--concurrency",
                    str(args.concurrency),
                    "--worker",
                    str(catalogue),
                    str(cases),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"worker failed ({done.returncode})")
            report = json.loads(done.stdout.strip().splitlines()[-1])
            shown = "  ".join(f"{k} {v:.2f}" for k, v in report["phases"].items())
            inner = "  ".join(f"{k} {v:.2f}" for k, v in report["timings"].items())
            print(
                f"#{index + 1} process wall {walls[-1]:.2f} s ({report['executor']}, "
                f"{report['recorded']}/{report['cells']} {report['status']})\n"
                f"   script: {shown}\n   engine: {inner}"
            )
    print(
        f"process wall, median of {len(walls)}: {statistics.median(walls):.2f} s "
        f"(min {min(walls):.2f}, max {max(walls):.2f}); {args.cells} cells, "
        f"{args.latency_ms:g} ms, C={args.concurrency}"
    )


if __name__ == "__main__":
    main()
