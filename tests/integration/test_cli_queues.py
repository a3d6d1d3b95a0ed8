"""`autoforge queue …`: database-only, like `run feedback` (a real subprocess, no Ray)."""

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
        run = store.create("local", RunSpec("p", ("abc123",), ("m",), "dv", ("c1", "c2", "c3")))
        store.record(
            [
                ResultRow(
                    run_id=run.id,
                    prompt_version="abc123",
                    model="m",
                    case_id=c,
                    output=f"out {c}",
                    passed=c != "c2",
                    score=float(c != "c2"),
                )
                for c in ("c1", "c2", "c3")
            ]  # fmt: skip
        )
        return run.id
    finally:
        db.dispose()


def test_two_annotators_work_a_queue_and_the_report_counts_their_verdicts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    made = ok(data, "queue", "create", run_id, "--per-item", "2", "--name", "all", "--json").json()
    queue = made["id"]
    assert made["item_count"] == 3
    assert queue in ok(data, "queue", "list").stdout
    # ann: pass, fail, pass; bob: pass, fail, fail -> agree on 2 of 3 items.
    for who, verdicts in (("ann", "pass fail pass"), ("bob", "pass fail fail")):
        for verdict in verdicts.split():
            item = ok(data, "queue", "next", queue, "--annotator", who, "--json").json()
            assert item["output"] == f"out {item['case_id']}"
            ok(data, "queue", "submit", queue, str(item["position"]), "--annotator", who,
               "--verdict", verdict)  # fmt: skip
    assert ok(data, "queue", "next", queue, "--annotator", "bob", "--json").json() is None
    shown = ok(data, "queue", "progress", queue, "--json").json()
    assert shown["progress"]["answers"] == shown["progress"]["needed"] == 6
    # p_o = 2/3; ann passes 2/3, bob 1/3: p_e = (2*1 + 1*2) / 9 = 4/9;
    # kappa = (6/9 - 4/9) / (5/9) = 0.4.
    assert shown["agreement"]["method"] == "cohen"
    assert shown["agreement"]["kappa"] == pytest.approx(0.4)
    # The latest verdict of each cell wins (bob's): c1 pass, c2 fail, c3 fail.
    report = ok(data, "run", "report", run_id, "--format", "json").json()
    assert report["groups"][0]["pass_rate"] == pytest.approx(1 / 3)
    assert "cohen kappa 0.400" in ok(data, "queue", "progress", queue).stdout
    assert started_nothing(data)


def test_bad_queue_input_is_one_readable_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    empty = cli(data, "queue", "create", run_id, "--filter", "near-threshold")
    assert empty.code == 2 and "llm-judge" in empty.stderr and "Traceback" not in empty.stderr
    queue = ok(data, "queue", "create", run_id, "--json").json()["id"]
    missing = cli(data, "queue", "submit", queue, "0", "--comment", "hm")
    assert missing.code == 2 and "verdict or a score" in missing.stderr
    other = cli(data, "queue", "show", queue, "--owner", "mallory")
    assert other.code == 1 and "not found" in other.stderr
    skipped = ok(data, "queue", "skip", queue, "0")
    assert "skipped" in skipped.stdout
    again = cli(data, "queue", "skip", queue, "0")
    assert again.code == 1 and "already" in again.stderr


def test_queue_reassign_hands_open_items_over(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    queue = ok(data, "queue", "create", run_id, "--assignee", "ann", "--json").json()["id"]
    item = ok(data, "queue", "next", queue, "--annotator", "ann", "--json").json()
    ok(data, "queue", "submit", queue, str(item["position"]), "--annotator", "ann",
       "--verdict", "pass")  # fmt: skip
    moved = ok(data, "queue", "reassign", queue, "--from", "ann", "--to", "dan")
    assert "2 item(s) moved from ann to dan (1, 2)" in moved.stdout
    assert ok(data, "queue", "next", queue, "--annotator", "ann", "--json").json() is None
    dan = ok(data, "queue", "next", queue, "--annotator", "dan", "--json").json()
    assert dan["position"] == 1
    stuck = cli(data, "queue", "reassign", queue, "--from", "ann", "--to", "dan",
                "--position", "0")  # fmt: skip
    assert stuck.code == 1 and "not ann's to hand over" in stuck.stderr
    assert "Traceback" not in stuck.stderr
    assert started_nothing(data)
