"""What `bench/faults.py` reads after a fault: the run's rows in the DB file and which cell
each provider request served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faults_metrics import CellCounts, cell_counts, epoch


class Observer:
    """Reads a run's status and cells straight from the DB file, through SQLAlchemy."""

    def __init__(self, data_dir: Path) -> None:
        from engine.db import create_db_engine

        self.path = data_dir / "autoforge.db"
        self.db = create_db_engine(f"sqlite:///{self.path}")

    def query(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def status(self, run_id: str) -> tuple[str, str | None]:
        rows = self.query("SELECT status, error FROM runs WHERE id = :r", r=run_id)
        return (rows[0][0], rows[0][1]) if rows else ("missing", None)

    def recorded(self, run_id: str) -> int:
        return int(self.query("SELECT count(*) FROM results WHERE run_id = :r", r=run_id)[0][0])

    def cells(self, run_id: str, expected: int) -> CellCounts:
        rows = self.query(
            "SELECT count(*) FROM results WHERE run_id = :r"
            " GROUP BY prompt_version, model, case_id, repeat",
            r=run_id,
        )
        return cell_counts(expected, (int(n) for (n,) in rows))

    def recorded_at(self, run_id: str) -> dict[tuple[str, str, str], float]:
        rows = self.query(
            "SELECT prompt_version, model, case_id, min(recorded_at) FROM results"
            " WHERE run_id = :r GROUP BY prompt_version, model, case_id",
            r=run_id,
        )
        return {(v, m, c): epoch(at) for v, m, c, at in rows}

    def costs_in_order(self, run_id: str) -> list[float]:
        rows = self.query(
            "SELECT coalesce(cost_usd, 0) FROM results WHERE run_id = :r ORDER BY recorded_at",
            r=run_id,
        )
        return [float(c) for (c,) in rows]

    def spec(self, run_id: str) -> dict[str, Any]:
        rows = self.query("SELECT spec FROM runs WHERE id = :r", r=run_id)
        return dict(json.loads(rows[0][0]))

    def close(self) -> None:
        self.db.dispose()


def cell_of_request(spec: dict[str, Any], cases: int) -> dict[str, tuple[str, str, str]]:
    """``request_key`` of every cell's provider request → the cell (version, model, case)."""
    from faults_driver import TEMPLATES
    from faults_driver import cases as make_cases

    from domain.prompts.template import Template
    from engine.simulator import request_key

    keys = {}
    for version, template in zip(spec["prompt_versions"], TEMPLATES, strict=True):
        for case in make_cases(cases):
            prompt = Template.from_text(template).render(case["vars"]).as_dicts()[-1]["content"]
            for model in spec["models"]:
                keys[request_key(model.removeprefix("openai/"), prompt)] = (
                    version,
                    model,
                    case["id"],
                )
    return keys
