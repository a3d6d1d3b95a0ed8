from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationError
from domain.reports import (
    ResultRecord,
    Threshold,
    baseline_comparisons,
    check_scorer_names,
    completed_gate,
    parse_threshold,
    regression_gate,
    threshold_gate,
)


def cell(case_id: str, passed: bool | None, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def side(verdicts: str, **fields: Any) -> list[ResultRecord]:
    """``"PPFE-"``: pass, pass, fail, errored, ungraded for cases c0, c1, ..."""
    cells = []
    for i, ch in enumerate(verdicts):
        if ch == "E":
            cells.append(cell(f"c{i}", None, error="timeout", **fields))
        else:
            flag = {"P": True, "F": False, "-": None}[ch]
            scores = {} if flag is None else {"correct": float(flag)}
            cells.append(cell(f"c{i}", flag, scores=scores, **fields))
    return cells


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.8", Threshold(0.8)),
        ("1", Threshold(1.0)),
        ("correct=0.9", Threshold(0.9, "correct")),
        ("a=b=0", Threshold(0.0, "a=b")),
    ],
)
def test_a_threshold_is_a_rate_or_a_named_scorer(text: str, expected: Threshold) -> None:
    assert parse_threshold(text) == expected


@pytest.mark.parametrize("text", ["", "x", "1.5", "-0.1", "nan", "=0.5", "correct="])
def test_a_malformed_threshold_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="--fail-under"):
        parse_threshold(text)


def test_a_threshold_on_an_unknown_scorer_names_the_known_ones() -> None:
    check_scorer_names([Threshold(0.5), Threshold(0.5, "correct")], {"correct"})
    with pytest.raises(ValidationError, match=r"no scorer named 'corect'.*: correct, exact"):
        check_scorer_names([Threshold(0.5, "corect")], {"exact", "correct"})


def test_the_pass_rate_counts_an_errored_cell_as_failed_and_skips_ungraded_ones() -> None:
    records = side("PPPFE-")

    gate = threshold_gate(records, Threshold(0.6))

    assert (gate.passed, gate.actual, gate.detail) == (True, "0.600", "3/5 graded cells passed")
    assert not threshold_gate(records, Threshold(0.61)).passed


def test_a_scorer_mean_counts_an_errored_cell_as_zero() -> None:
    records = side("PPPE")

    assert threshold_gate(records, Threshold(0.75, "correct")).passed
    assert threshold_gate(records, Threshold(0.76, "correct")).actual == "0.750"
    assert not threshold_gate(records, Threshold(0.76, "correct")).passed


def test_a_gate_with_nothing_to_check_fails() -> None:
    gate = threshold_gate(side("--"), Threshold(0.0))

    assert not gate.passed and gate.detail == "no cell has a value to check"


def test_only_a_completed_run_passes_the_completion_gate() -> None:
    assert completed_gate("completed").passed
    stopped = completed_gate("budget-exceeded")
    assert not stopped.passed and stopped.detail == "the run ended budget-exceeded"


def test_the_candidate_is_paired_with_the_baseline_per_model_by_case() -> None:
    baseline = side("PPPPPPPP", run_id="base", prompt_version="v1") + side(
        "PPPP", run_id="base", prompt_version="v1", model="other"
    )
    candidate = side("FFFFFFFP", run_id="new", prompt_version="v2") + side(
        "PPPP", run_id="new", prompt_version="v9"
    )

    [comparison] = baseline_comparisons(
        baseline, candidate, baseline_version="v1", candidate_version="v2"
    )

    assert comparison.label_a == "baseline on m" and comparison.n_pairs == 8
    assert len(comparison.regressed) == 7 and comparison.winner == "a"
    gate = regression_gate([comparison], alpha=0.05)
    assert not gate.passed and gate.actual == "p=0.016"


def test_no_significant_difference_passes_the_regression_gate() -> None:
    baseline = side("PPPPFFFF", prompt_version="v1")
    candidate = side("FPPPPFFF", prompt_version="v2")  # one lost, one won

    comparisons = baseline_comparisons(
        baseline, candidate, baseline_version="v1", candidate_version="v2"
    )

    assert regression_gate(comparisons, alpha=0.05).passed


def test_a_significant_improvement_is_no_regression() -> None:
    comparisons = baseline_comparisons(
        side("FFFFFFFF", prompt_version="v1"),
        side("PPPPPPPP", prompt_version="v2"),
        baseline_version="v1",
        candidate_version="v2",
    )

    assert comparisons[0].winner == "b" and regression_gate(comparisons, alpha=0.05).passed


def test_the_alpha_decides_what_is_significant() -> None:
    comparisons = baseline_comparisons(
        side("PPPPP", prompt_version="v1"),
        side("FFFFF", prompt_version="v2"),
        baseline_version="v1",
        candidate_version="v2",
        alpha=0.1,
    )  # p = 0.0625

    assert not regression_gate(comparisons, alpha=0.1).passed
    strict = baseline_comparisons(
        side("PPPPP", prompt_version="v1"),
        side("FFFFF", prompt_version="v2"),
        baseline_version="v1",
        candidate_version="v2",
    )
    assert regression_gate(strict, alpha=0.05).passed


def test_nothing_in_common_with_the_baseline_fails_the_regression_gate() -> None:
    comparisons = baseline_comparisons(
        side("PP", prompt_version="v1", model="a"),
        side("PP", prompt_version="v2", model="b"),
        baseline_version="v1",
        candidate_version="v2",
    )

    gate = regression_gate(comparisons, alpha=0.05)

    assert comparisons == () and not gate.passed
    assert gate.detail == "no case and model in common with the baseline run"
