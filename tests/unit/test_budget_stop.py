"""What a run stopped at its budget says: spent of cap, cells left, the resume to type."""

from __future__ import annotations

import pytest

from domain.evaluation.budget_stop import budget_stop_error, suggested_budget
from domain.evaluation.failure import MAX_ERROR_CHARS


def test_the_message_says_what_was_spent_what_is_left_and_how_to_finish() -> None:
    error = budget_stop_error("run_1", spent_usd=0.0483, limit_usd=0.05, recorded=83, total=120)
    assert error == (
        "budget-exceeded: stopped at the budget: spent $0.0483 of $0.05; 37 of 120 cells not "
        "run; resume with a higher budget: autoforge run resume run_1 --budget 0.077"
    )
    assert len(error) < MAX_ERROR_CHARS


def test_an_owners_budget_is_named_as_such() -> None:
    error = budget_stop_error("run_1", spent_usd=0.01, limit_usd=None, recorded=1, total=4)
    assert "owner's budget" in error and "3 of 4 cells not run" in error
    assert error.endswith("autoforge run resume run_1")


@pytest.mark.parametrize(
    ("spent", "recorded", "total", "limit", "expected"),
    [
        (0.0483, 83, 120, 0.05, 0.077),  # projected 0.0768 with the margin
        (0.0099, 150, 200, 0.01, 0.015),
        (0.0, 0, 10, 0.05, 0.1),  # nothing recorded: twice the cap
        (0.05, 199, 200, 0.05, 0.056),  # almost done: still above the current cap
        (12.3, 10, 100, 13.0, 140.0),
    ],
)
def test_a_suggested_budget_finishes_the_run_at_its_cost_so_far(
    spent: float, recorded: int, total: int, limit: float, expected: float
) -> None:
    suggestion = suggested_budget(spent, recorded, total, limit)
    assert suggestion == pytest.approx(expected)
    assert suggestion > limit
    if recorded:
        assert suggestion >= spent / recorded * total
