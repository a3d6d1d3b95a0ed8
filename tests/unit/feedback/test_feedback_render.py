from __future__ import annotations

import json
from typing import Any

import pytest

from domain.feedback import Feedback, as_effective, feedback_report, with_feedback
from domain.reports import ResultRecord, summarize
from engine.reports import render

JUDGE = "<b>judge</b>"
SCORERS = [{"type": "llm-judge", "name": JUDGE, "args": {}, "threshold": None}]


def cell(case_id: str, passed: bool, judged: float) -> ResultRecord:
    return ResultRecord(
        run_id="r",
        prompt_version="v1",
        model="m",
        case_id=case_id,
        passed=passed,
        score=judged,
        scores={JUDGE: judged},
    )


def note(case_id: str, **fields: Any) -> Feedback:
    return Feedback(
        run_id="r",
        prompt_version="v1",
        model="m",
        case_id=case_id,
        author="ann",
        created_at="2026-12-03T00:00:00",
        **fields,
    )


CELLS = [cell("c0", True, 0.9), cell("c1", True, 0.7), cell("c2", False, 0.1)]
FEEDBACK = [
    note("c1", verdict="fail"),
    note("c2", verdict="fail"),
    note("c0", verdict="pass"),
    note("c2", comment="as expected"),
]
# judge (>= 0.5) P P F against people P F F: pp=1, pf=1, fp=0, ff=1; p_o = 2/3,
# p_e = (2/3)(1/3) + (1/3)(2/3) = 4/9, kappa = (2/9) / (5/9) = 0.4.


def rendered(fmt: Any, feedbacks: list[Feedback] = FEEDBACK) -> str:
    effective = [as_effective(c) for c in with_feedback(CELLS, feedbacks)]
    report = feedback_report(CELLS, feedbacks, SCORERS)
    return render(summarize(effective), fmt, title="t", feedback=report)


def test_markdown_counts_overrides_and_shows_the_judges_confusion_matrix() -> None:
    text = rendered("markdown")
    assert "- 3 cells overridden (4 feedback on 3 cells)" in text
    assert "effective pass rate 33.3% (scorers alone: 66.7%)" in text
    assert "**Judge alignment: \\<b>judge\\</b>**" in text  # user text is escaped
    assert "| pass | 1 | 1 |" in text and "| fail | 0 | 1 |" in text
    assert "agreement 66.7%" in text and "⚠ below 80% agreement" in text
    assert "Disagreeing cells: c1 #0 (v1, m)" in text


def test_json_carries_the_feedback_and_the_pass_rate_counts_it() -> None:
    document = json.loads(rendered("json"))
    assert document["groups"][0]["pass_rate"] == 1 / 3
    assert document["feedback"]["summary"]["n_overridden"] == 3
    assert document["feedback"]["judges"][0]["kappa"] == pytest.approx(0.4)


def test_html_escapes_the_section_and_no_feedback_adds_nothing() -> None:
    page = rendered("html")
    assert "Human feedback" in page and "&lt;b&gt;judge&lt;/b&gt;" in page
    assert JUDGE not in page
    assert "Human feedback" not in rendered("markdown", [])
    assert "Human feedback" not in rendered("html", [])
