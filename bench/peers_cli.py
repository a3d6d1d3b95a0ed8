"""Peer runner: ``autoforge eval FILE --json`` as a user runs it in CI, on a fresh data dir.

    .venv/bin/python bench/peers_cli.py --api-base http://127.0.0.1:PORT/v1 --cells 1000 \
        --concurrency 32 [--rpm 1200] [--workdir DIR]

The eval file names the workload's prompt, model, dataset, the `contains` scorer,
``concurrency`` and ``cache: false``; ``AUTOFORGE_CATALOGUE_PATH`` declares the account.
This script is only the stopwatch: ``wall_s`` is the ``autoforge`` process, fork to exit.
Prints one JSON line: wall_s, exit_code, cells, recorded, errors, status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from peers_workload import emit, files_for, runner_parser


def _report_counts(report: dict[str, Any]) -> tuple[int, int]:
    groups = report.get("groups", [])
    return sum(g["n_cells"] for g in groups), sum(g["n_errors"] for g in groups)


def main() -> None:
    args = runner_parser("`autoforge eval` on a fresh data dir.", engine=True).parse_args()
    files = files_for(args)
    env = {
        **os.environ,
        "AUTOFORGE_CATALOGUE_PATH": str(files.catalogue),
        "AUTOFORGE_DATA_DIR": str(files.data_dir),
    }
    autoforge = Path(sys.executable).with_name("autoforge")
    started = time.perf_counter()
    done = subprocess.run(
        [str(autoforge), "eval", str(files.eval_file), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    result: dict[str, Any] = {"runner": "cli-cold", "wall_s": round(wall, 4)}
    result["exit_code"] = done.returncode
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        result["status"] = "no --json output"
    else:
        recorded, errors = _report_counts(summary["report"])
        result.update(cells=args.cells, recorded=recorded, errors=errors, status=summary["status"])
    emit(result)


if __name__ == "__main__":
    main()
