"""CPU per cell of a warm inline engine: what a run costs the one core that works it.

    .venv/bin/python bench/cpu_per_cell.py [--cells 1000] [--concurrency 32] [--latency-ms 0]
        [--runs 3]

A user's script in-process (as ``peers_engine.py``): one run to warm the engine, then
``--runs`` more, each timed by wall clock and by this process's CPU (user + sys, every
thread: the inline executor's loop and its database thread). The simulator is its own
process and is not counted, nor is a progress bar (``wait(progress=False)``). On a loaded
machine wall time says little; CPU per cell moves far less, so compare it between branches
run one after the other. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from peers_workload import MODEL, TEMPLATE, prepare  # noqa: E402

from engine.simulator import SimulatorConfig, simulator_subprocess  # noqa: E402


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from engine import Engine

    config = SimulatorConfig(latency_ms=args.latency_ms, seed=0)
    runs: list[dict[str, Any]] = []
    with simulator_subprocess(config) as url:
        directory = Path(tempfile.mkdtemp(prefix="af-cpu-"))
        files = prepare(directory, f"{url}/v1", args.cells, args.concurrency)
        with Engine(catalogue_path=files.catalogue, data_dir=files.data_dir) as engine:
            engine.prompts.create("peers", TEMPLATE)
            engine.datasets.import_file("peers", files.cases)
            for index in range(args.runs + 1):
                cpu, wall = _cpu_s(), time.perf_counter()
                run = engine.evaluate(
                    prompt="peers",
                    dataset="peers",
                    models=[f"openai/{MODEL}"],
                    scorers=["contains"],
                    cache=False,
                    concurrency=args.concurrency,
                )
                info = run.wait(progress=False)
                if index == 0:
                    continue  # the warm-up run
                runs.append(
                    {
                        "wall_s": round(time.perf_counter() - wall, 3),
                        "cpu_ms_per_cell": round((_cpu_s() - cpu) * 1000 / args.cells, 3),
                        "status": info.status.value,
                    }
                )
    cpu_ms = sorted(r["cpu_ms_per_cell"] for r in runs)
    result = {
        "cells": args.cells,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "median_cpu_ms_per_cell": cpu_ms[len(cpu_ms) // 2],
        "runs": runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
