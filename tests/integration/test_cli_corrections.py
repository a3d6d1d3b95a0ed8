"""`autoforge run corrections`: database-only, like `run feedback` (a real subprocess, no Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli_feedback import recorded_run
from tests.integration.test_fast_cli import cli, ok, started_nothing

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_corrections_become_a_new_dataset_version(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "c1", "vars": {"q": "a"}, "expected": "A"}\n', encoding="utf-8")
    ok(data, "dataset", "import", "qa", str(cases))
    ok(data, "run", "feedback", run_id, "c2", "--verdict", "fail", "--correction", "B")
    added = ok(data, "run", "corrections", run_id, "--dataset", "qa")
    assert "qa v2: 2 cases" in added.stdout and run_id in added.stdout
    rows = [json.loads(line) for line in ok(data, "dataset", "export", "qa").stdout.splitlines()]
    assert [(r["id"], r.get("expected")) for r in rows] == [("c1", "A"), ("c2", "B")]
    assert rows[1]["metadata"]["provenance"]["run_id"] == run_id
    first = ok(data, "dataset", "export", "qa", "--version", "1").stdout.splitlines()
    assert [json.loads(line)["expected"] for line in first] == ["A"]
    assert started_nothing(data)


def test_nothing_to_add_and_a_passing_pick_are_one_readable_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = recorded_run(data)
    nothing = cli(data, "run", "corrections", run_id, "--dataset", "qa")
    assert nothing.code != 0 and "nothing to add" in nothing.stderr
    passing = cli(data, "run", "corrections", run_id, "--dataset", "qa", "--include-failed", "c1")
    assert passing.code != 0 and "did not fail" in passing.stderr
    assert "Traceback" not in nothing.stderr + passing.stderr
