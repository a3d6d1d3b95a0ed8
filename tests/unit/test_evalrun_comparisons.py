"""`autoforge eval` compares its last prompt version with its first on every model that has
results for both: a run stopped at its budget may leave a version with no cell."""

from __future__ import annotations

from domain.reports import ResultRecord
from engine.sdk.evalrun import first_vs_last


def cell(case_id: str, version: str, model: str, passed: bool) -> ResultRecord:
    return ResultRecord(
        run_id="r",
        case_id=case_id,
        prompt_version=version,
        model=model,
        passed=passed,
        score=float(passed),
    )


def test_a_model_whose_last_version_has_no_results_is_left_out() -> None:
    records = [
        cell("c0", "v1", "m1", True),
        cell("c0", "v2", "m1", False),
        cell("c1", "v1", "m2", True),  # the budget ran out before v2 reached m2
    ]

    comparisons = first_vs_last(records, ["v1", "v2"], ["m1", "m2"], {})

    assert [c.label_b for c in comparisons] == ["v2 on m1"]


def test_one_version_compares_nothing() -> None:
    assert first_vs_last([cell("c0", "v1", "m1", True)], ["v1"], ["m1"], {}) == ()
