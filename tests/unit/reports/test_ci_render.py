from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from domain.reports import (
    GateResult,
    ResultRecord,
    Threshold,
    baseline_comparisons,
    completed_gate,
    regression_gate,
    summarize,
    threshold_gate,
)
from engine.reports import to_junit, to_pr_comment


def cell(case_id: str, passed: bool | None, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


RECORDS = [
    cell("c0", True, latency_ms=250.0),
    cell("c1", False, reasons={"correct": "expected 4, got 5"}, output="5", expected="4"),
    cell("c2", None, error="provider timed out"),
    cell("c3", None),
    cell("c0", False, model="n", reasons={"correct": "no number"}),
]
GATES = [
    completed_gate("completed"),
    threshold_gate(RECORDS, Threshold(0.5)),
]


def suites(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    return {suite.get("name", ""): suite for suite in root.iter("testsuite")}


def test_junit_has_a_suite_per_version_and_model_and_one_of_gates() -> None:
    found = suites(to_junit(RECORDS, GATES, version_names={"v1": "v1 (production)"}))

    assert list(found) == ["v1 (production) on m", "v1 (production) on n", "autoforge gates"]
    first = found["v1 (production) on m"]
    counts = {k: first.get(k) for k in ("tests", "failures", "errors", "skipped", "time")}
    assert counts == {"tests": "4", "failures": "1", "errors": "1", "skipped": "1", "time": "0.250"}
    failure = first.find("testcase[@name='c1']/failure")
    assert failure is not None and failure.get("message") == "correct: expected 4, got 5"
    assert "output: 5" in (failure.text or "") and "expected: 4" in (failure.text or "")
    error = first.find("testcase[@name='c2']/error")
    assert error is not None and error.get("message") == "provider timed out"
    gates = found["autoforge gates"]
    assert [c.get("name") for c in gates] == ["run completed", "pass rate"]
    assert gates.get("failures") == "1"  # 1 of 3 graded cells passed: under 0.5
    assert ET.fromstring(to_junit(RECORDS, GATES)).get("failures") == "3"


def test_junit_replaces_characters_xml_cannot_hold() -> None:
    odd = cell("c\x00", False, reasons={"correct": "bell \x07"})

    xml = to_junit([odd], [])

    case = ET.fromstring(xml).find("testsuite/testcase")
    assert case is not None and case.get("name") == "c\ufffd"


def test_a_repeat_is_its_own_testcase() -> None:
    xml = to_junit([cell("c0", True), cell("c0", True, repeat=1)], [])

    assert [c.get("name") for c in ET.fromstring(xml).iter("testcase")] == ["c0", "c0 #1"]


def test_the_pr_comment_shows_the_verdict_gates_comparison_and_failing_cases() -> None:
    baseline = [cell(f"c{i}", True, run_id="b") for i in range(6)]
    candidate = [cell(f"c{i}", False, prompt_version="v2") for i in range(6)]
    comparisons = baseline_comparisons(
        baseline, candidate, baseline_version="v1", candidate_version="v2", labels=("base", "v2")
    )
    gates = [completed_gate("completed"), regression_gate(comparisons, 0.05)]

    text = to_pr_comment(
        summarize(candidate, {"v2": "v2 (main)"}),
        gates,
        comparisons,
        title="calc | v2",
        baseline="run b",
        top_failed=2,
    )

    assert text.startswith("### ❌ AutoForge eval: calc \\| v2\n")
    assert "Pass rate **0.0%** (0/6 graded cells, 6 cells in all)" in text
    assert "| ✅ | run completed |" in text and "| ❌ | no regression vs baseline |" in text
    assert "- v2 on m: 100.0% → 0.0% (-100.0 pp), 0 improved, 6 regressed, McNemar p=0.031" in text
    assert "**Failing cases** (6)" in text and "… and 4 more." in text
    assert "| v2 (main) | m | c0 |" in text


def test_a_passing_run_without_baseline_is_a_short_comment() -> None:
    passing = [cell("c0", True)]
    gates: list[GateResult] = [completed_gate("completed")]

    text = to_pr_comment(summarize(passing), gates, title="calc")

    assert text.startswith("### ✅ AutoForge eval: calc\n")
    assert "baseline" not in text and "Failing" not in text
