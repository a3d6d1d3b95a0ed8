"""`autoforge run feedback`: database-only, like `run show` (a real subprocess, no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.db import create_db_engine, migrate
from engine.evaluation.runs import RunStore
from tests.integration.test_fast_cli import cli, ok, started_nothing

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def recorded_run(data_dir: Path) -> str:
    db = create_db_engine(f"sqlite+libsql:///{data_dir / 'autoforge.db'}")
    try:
        migrate(db)
        store = RunStore(db)
        run = store.create("local", RunSpec("p", ("abc123",), ("m",), "dv", ("c1", "c2")))
        store.record(
            [
                ResultRow(run_id=run.id, prompt_version="abc123", model="m", case_id=c, passed=True)
                for c in ("c1", "c2")
            ]
        )
        return run.id
    finally:
        db.dispose()


def test_feedback_overrides_the_report_from_the_database_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    before = ok(data, "run", "report", run_id, "--format", "json").json()
    assert before["groups"][0]["pass_rate"] == 1.0
    given = ok(data, "run", "feedback", run_id, "c1", "--verdict", "fail", "--comment", "no")
    assert "c1 #0 (abc123, m): fail recorded" in given.stdout
    noted = ok(data, "run", "feedback", run_id, "c2", "--comment", "fine", "--json").json()
    assert (noted["verdict"], noted["comment"], noted["author"]) == (None, "fine", "local")
    report = ok(data, "run", "report", run_id, "--format", "json").json()
    assert report["groups"][0]["pass_rate"] == 0.5
    assert report["feedback"]["summary"]["n_overridden"] == 1
    assert "1 cell overridden" in ok(data, "run", "report", run_id).stdout
    assert started_nothing(data)


def test_bad_feedback_is_one_readable_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    unknown = cli(data, "run", "feedback", run_id, "c9", "--verdict", "pass")
    assert unknown.code != 0 and "no recorded cell" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    out_of_range = cli(data, "run", "feedback", run_id, "c1", "--score", "1.5")
    assert out_of_range.code != 0 and "within [0, 1]" in out_of_range.stderr
    other = cli(data, "run", "feedback", "run_nope", "c1", "--verdict", "pass")
    assert other.code != 0 and "not found" in other.stderr
