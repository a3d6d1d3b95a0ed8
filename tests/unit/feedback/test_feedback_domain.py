from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationError
from domain.feedback import (
    Feedback,
    as_effective,
    cohen_kappa,
    confusion_matrix,
    effective,
    judge_alignment,
    judge_thresholds,
    summarize_feedback,
    with_feedback,
)
from domain.reports import ResultRecord, summarize


def cell(case_id: str, passed: bool | None, score: float | None = None, **fields: Any):
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return ResultRecord(case_id=case_id, passed=passed, score=score, **(values | fields))


def note(case_id: str, at: str = "2026-12-03T00:00:00", **fields: Any) -> Feedback:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return Feedback(case_id=case_id, author="ann", created_at=at, **(values | fields))


def test_a_verdict_overrides_the_scorers_and_stands_for_a_score() -> None:
    got = effective(cell("c0", True, 0.9), [note("c0", verdict="fail")])
    assert (got.passed, got.score, got.overridden) == (False, 0.0, True)


def test_a_score_alone_keeps_the_scorers_verdict() -> None:
    got = effective(cell("c0", True, 0.9), [note("c0", score=0.4)])
    assert (got.passed, got.score, got.overridden) == (True, 0.4, True)


def test_the_latest_override_wins_whatever_the_order_given() -> None:
    later = note("c0", at="2026-12-03T10:00:00", verdict="pass", score=0.7)
    earlier = note("c0", at="2026-12-03T09:00:00", verdict="fail")
    got = effective(cell("c0", False, 0.1), [later, earlier])
    assert (got.passed, got.score) == (True, 0.7)


def test_comment_only_feedback_and_other_cells_change_nothing() -> None:
    feedbacks = [
        note("c0", at="2026-12-03T11:00:00", comment="odd phrasing", tags=("style",)),
        note("c0", repeat=1, verdict="fail"),
        note("c1", verdict="fail"),
    ]
    got = effective(cell("c0", True, 1.0), feedbacks)
    assert (got.passed, got.score, got.overridden) == (True, 1.0, False)


def test_a_comment_after_an_override_keeps_the_override() -> None:
    feedbacks = [note("c0", verdict="fail"), note("c0", at="2026-12-04T00:00:00", comment="ok")]
    assert effective(cell("c0", True, 1.0), feedbacks).passed is False


def test_with_feedback_exposes_effective_fields_and_the_summary_counts_them() -> None:
    cells = [cell("c0", True, 1.0), cell("c1", False, 0.0), cell("c2", False, 0.2)]
    feedbacks = [note("c1", verdict="pass"), note("c2", comment="hm")]
    marked = with_feedback(cells, feedbacks)
    assert [c.effective_passed for c in marked] == [True, True, False]
    assert [c.overridden for c in marked] == [False, True, False]
    assert [c.passed for c in marked] == [True, False, False]
    summary = summarize_feedback(marked, feedbacks)
    assert (summary.n_feedback, summary.n_cells_with_feedback, summary.n_overridden) == (2, 2, 1)
    assert summary.automatic_pass_rate == pytest.approx(1 / 3)
    assert summary.effective_pass_rate == pytest.approx(2 / 3)
    report = summarize([as_effective(c) for c in marked])
    assert report.group("v1", "m").pass_rate == pytest.approx(2 / 3)
    assert report.group("v1", "m").mean_score == pytest.approx((1.0 + 1.0 + 0.2) / 3)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"score": 1.5}, "score"),
        ({"score": float("nan")}, "score"),
        ({"score": True}, "score"),
        ({"repeat": -1, "verdict": "pass"}, "repeat"),
        ({"tags": (" padded",)}, "tags"),
        ({"comment": "x" * 20_001}, "comment"),
    ],
)
def test_feedback_refuses_bad_values(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        note("c0", **fields)
    assert caught.value.details.get("field") == field


def test_feedback_needs_something_to_say() -> None:
    with pytest.raises(ValidationError, match="needs a verdict"):
        note("c0")


def test_kappa_matches_a_hand_calculation() -> None:
    # 100 cells: both pass 45, judge pass/human fail 15, judge fail/human pass 25, both fail 15.
    # p_o = 0.60; p_e = 0.60 * 0.70 + 0.40 * 0.30 = 0.54; kappa = 0.06 / 0.46.
    judge = [True] * 45 + [True] * 15 + [False] * 25 + [False] * 15
    human = [True] * 45 + [False] * 15 + [True] * 25 + [False] * 15
    assert confusion_matrix(judge, human) == ((45, 15), (25, 15))
    assert cohen_kappa(judge, human) == pytest.approx(0.06 / 0.46)


def test_kappa_edges() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa([True, True], [True, True]) == 1.0
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)


def test_judge_alignment_counts_the_latest_human_verdicts() -> None:
    scores = [0.9, 0.8, 0.2, 0.6, 0.1]
    cells = [cell(f"c{i}", s >= 0.5, s, scores={"judge": s}) for i, s in enumerate(scores)]
    cells.append(cell("c5", True, 1.0, scores={"judge": 1.0}))  # no human verdict
    feedbacks = [
        note("c0", verdict="pass"),
        note("c1", verdict="pass"),
        note("c1", at="2026-12-04T00:00:00", verdict="fail"),  # changed their mind
        note("c2", verdict="fail"),
        note("c3", verdict="fail"),
        note("c4", verdict="pass"),
        note("c5", comment="fine"),
    ]
    (got,) = judge_alignment(cells, feedbacks, {"judge": 0.5})
    # judge: P P F P F; human: P F F F P -> pp=1, pf=2, fp=1, ff=1; p_o = 2/5
    # p_e = (3/5)(2/5) + (2/5)(3/5) = 12/25; kappa = (10/25 - 12/25) / (13/25) = -2/13
    assert got.n == 5
    assert got.confusion == ((1, 2), (1, 1))
    assert got.agreement == pytest.approx(0.4)
    assert got.kappa == pytest.approx(-2 / 13)
    assert [key[2] for key in got.disagreements] == ["c1", "c3", "c4"]
    assert got.flagged


def test_judge_thresholds_read_llm_judge_records_only() -> None:
    records = [
        {"type": "llm-judge", "name": "tone", "args": {"pass_threshold": 0.7}, "threshold": None},
        {"type": "llm-judge", "name": "facts", "args": {}, "threshold": 0.9},
        {"type": "llm-judge", "name": "", "args": {}},
        {"type": "contains", "name": "contains", "args": {"value": "x"}},
    ]
    assert judge_thresholds(records) == {"tone": 0.7, "facts": 0.9, "llm-judge": 0.5}
