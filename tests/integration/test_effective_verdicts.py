"""People's verdicts win wherever a verdict is read: the `passed` filter of a run's cells and
run comparisons use the effective verdict; a run reads its cases only from its own
workspace's dataset version (real database file, inline engine for the SDK's handles)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.datasets import TestCase
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from domain.feedback import verdict_overrides
from engine.evaluation.datasets import DatasetStore
from engine.evaluation.feedback import FeedbackStore
from engine.evaluation.runs import CellFilters, RunStore

pytestmark = pytest.mark.integration
CASES = ("c0", "c1", "c2", "c3")


def _run(runs: RunStore, owner: str, version: str, passing: set[str], dataset: str = "dv") -> str:
    run = runs.create(owner, RunSpec("p", (version,), ("m",), dataset, CASES))
    runs.record([ResultRow(run_id=run.id, prompt_version=version, model="m", case_id=c,
                           output=c, passed=c in passing, score=float(c in passing))
                 for c in CASES])  # fmt: skip
    return run.id


def test_the_passed_filter_reads_peoples_verdicts(migrated_db: Engine) -> None:
    runs = RunStore(migrated_db)
    feedback = FeedbackStore(migrated_db, runs)
    run_id = _run(runs, "ann", "aaa111", {"c0", "c1"})
    feedback.add("ann", run_id, "c1", verdict="fail")  # a pass overturned
    feedback.add("ann", run_id, "c2", verdict="pass")  # a fail overturned
    feedback.add("ann", run_id, "c3", verdict="pass")
    feedback.add("ann", run_id, "c3", verdict="fail")  # the latest verdict wins
    feedback.add("ann", run_id, "c0", score=0.2)  # a score alone keeps the verdict
    overrides = verdict_overrides(feedback.for_run("ann", run_id))
    assert overrides == {("aaa111", "m", "c1", 0): False, ("aaa111", "m", "c2", 0): True,
                         ("aaa111", "m", "c3", 0): False}  # fmt: skip

    def ids(passed: bool, **kw: object) -> list[str]:
        got = runs.cells("ann", run_id, CellFilters(passed=passed), overrides=overrides, **kw)
        return [c.case_id for c in got]

    assert ids(True) == ["c0", "c2"]
    assert ids(False) == ["c1", "c3"]
    assert ids(True, limit=1) == ["c0"]
    assert [c.case_id for c in runs.cells("ann", run_id, CellFilters(passed=True))] == [
        "c0",
        "c1",
    ]  # fmt: skip  (the scorers' alone, without overrides)


def test_sdk_cells_and_comparisons_count_the_effective_verdict(tmp_path: Path) -> None:
    from engine.sdk import Engine

    with Engine(data_dir=tmp_path, executor="inline") as engine:
        runs = RunStore(engine.runtime.db)
        a = _run(runs, "local", "aaa111", {"c0", "c1"})
        b = _run(runs, "local", "bbb222", {"c0", "c1"})
        assert engine.compare(a, b).pass_rate_difference == 0
        for case in ("c2", "c3"):
            engine.run(b).feedback(case, verdict="pass")
        engine.run(a).feedback("c0", verdict="fail")
        compared = engine.compare(a, b)
        assert (compared.pass_rate_a, compared.pass_rate_b) == (0.25, 1.0)
        assert len(compared.improved) == 3 and compared.regressed == ()
        passing = engine.run(b).cells(CellFilters(passed=True))
        assert [c.case_id for c in passing] == list(CASES)
        assert engine.run(a).cells(CellFilters(passed=False))[0].case_id == "c0"


def test_a_run_reads_cases_only_from_its_own_workspaces_dataset(migrated_db: Engine) -> None:
    datasets, runs = DatasetStore(migrated_db), RunStore(migrated_db)
    datasets.create("alice", "secret")
    version = datasets.add_version(
        "alice", "secret", [TestCase(id=c, variables={"q": f"private {c}"}) for c in CASES]
    )
    own = _run(runs, "alice", "aaa111", set(), dataset=version.id)
    assert runs.results("alice", own)[0].variables == {"q": "private c0"}
    stolen = _run(runs, "mallory", "aaa111", set(), dataset=version.id)
    assert all(not c.variables for c in runs.results("mallory", stolen))
    assert all(not c.variables for c in runs.cells("mallory", stolen))
