"""Peer runner: our engine as a user's script, cold (and with ``--warm``, a second run).

    .venv/bin/python bench/peers_engine.py --api-base http://127.0.0.1:PORT/v1 --cells 1000 \
        --concurrency 32 [--rpm 1200] [--warm] [--workdir DIR] [--data-dir DIR]

Cold: ``Engine(catalogue_path=…, data_dir=…)``, create the prompt, import the dataset
JSONL, ``evaluate(..., cache=False)``, ``wait()``, close: the whole process is the figure.
``--warm`` then evaluates the workload again in the same process as a new run, resetting
the simulator's counters in between, and reports that evaluate + wait as ``timed_s``.
``--data-dir`` uses that data dir (e.g. one a running engine owns) instead of a fresh one.
Prints one JSON line: cells, recorded, errors, status (and timed_s).
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

from peers_workload import MODEL, emit, files_for, runner_parser


def _evaluate(engine: Any, concurrency: int) -> tuple[Any, Any]:
    run = engine.evaluate(
        prompt="peers",
        dataset="peers",
        models=[f"openai/{MODEL}"],
        scorers=["contains"],
        cache=False,
        concurrency=concurrency,
    )
    return run, run.wait()


def _reset_simulator(api_base: str) -> None:
    url = f"{api_base.removesuffix('/v1')}/stats/reset"
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10).close()


def main() -> None:
    parser = runner_parser("Our engine as a user's script.", engine=True)
    parser.add_argument("--warm", action="store_true", help="time a second run in-process")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    files = files_for(args)

    from engine import Engine

    result: dict[str, Any] = {"runner": "engine-warm" if args.warm else "engine-cold"}
    data_dir = args.data_dir or files.data_dir
    with Engine(catalogue_path=files.catalogue, data_dir=data_dir) as engine:
        engine.prompts.create("peers", "What is {{n}} + 1?")
        engine.datasets.import_file("peers", files.cases)
        run, info = _evaluate(engine, args.concurrency)
        if args.warm:
            _reset_simulator(args.api_base)
            started = time.perf_counter()
            run, info = _evaluate(engine, args.concurrency)
            result["timed_s"] = round(time.perf_counter() - started, 4)
        records = run.records()
        result.update(
            cells=info.total_cells,
            recorded=len(records),
            errors=sum(r.error is not None for r in records),
            status=info.status.value,
        )
    emit(result)


if __name__ == "__main__":
    main()
