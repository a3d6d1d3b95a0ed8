"""What a `/metrics` scrape costs the database: the engine collector's reads of `runs` and
`results` on a libSQL file holding RUNS stopped runs of CELLS cells each (plus 2 working).

The first read of a process reads every run once; later reads re-read only working runs.

    .venv/bin/python bench/metrics_scrape.py [--runs 200] [--cells 500]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from sqlalchemy import insert

from engine.db import create_db_engine, migrate
from engine.evaluation.tables import results, runs
from engine.metrics.recorded import RecordedTotals

WORKING = 2


def _fill(db: object, n_runs: int, cells: int) -> None:
    with db.begin() as conn:  # type: ignore[attr-defined]
        for r in range(n_runs + WORKING):
            run_id = f"run_{r:06d}"
            status = "running" if r >= n_runs else "completed"
            created = f"2026-01-01T{r // 3600:02d}:{r // 60 % 60:02d}:{r % 60:02d}"
            conn.execute(
                insert(runs).values(
                    id=run_id, owner="bench", name="", status=status, spec="{}",
                    total_cells=cells, created_at=created, over_budget_cells=0,
                )
            )  # fmt: skip
            rows = [
                {
                    "run_id": run_id, "prompt_version": "v1", "model": "openai/sim-small",
                    "case_id": str(i), "repeat": 0, "output": "4", "passed": i % 2 == 0,
                    "score": 1.0, "scores": "{}", "latency_ms": 10.0, "queue_ms": 0.0,
                    "prompt_tokens": 5, "completion_tokens": 1, "cost_usd": 1e-5,
                    "error": None, "fallback_model": None, "cached": i % 3 == 0,
                    "detail": json.dumps({"attempts": 1}), "recorded_at": created,
                }
                for i in range(cells)
            ]  # fmt: skip
            conn.execute(insert(results), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cells", type=int, default=500)
    args = parser.parse_args()
    db = create_db_engine(f"sqlite+libsql:///{tempfile.mkdtemp()}/metrics.db")
    migrate(db)
    _fill(db, args.runs, args.cells)
    totals = RecordedTotals(db)
    began = time.perf_counter()
    totals.read()
    first = time.perf_counter() - began
    began = time.perf_counter()
    totals.read()
    later = time.perf_counter() - began
    rows = (args.runs + WORKING) * args.cells
    print(
        f"{rows} result rows: first read {first * 1000:.0f} ms, later reads {later * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
