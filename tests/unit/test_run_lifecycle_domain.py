"""An interrupted run is stopped but resumable; a resumed budget is checked; `--budget`."""

from __future__ import annotations

import pytest

from domain.errors import ConflictError, ValidationError
from domain.evaluation import RunStatus, check_budget, check_transition
from domain.evaluation.failure import MAX_ERROR_CHARS, stored_error


def test_an_interrupted_run_is_stopped_resumable_and_finishable() -> None:
    assert RunStatus.INTERRUPTED.terminal()
    check_transition(RunStatus.RUNNING, RunStatus.INTERRUPTED)
    check_transition(RunStatus.INTERRUPTED, RunStatus.RUNNING)
    check_transition(RunStatus.INTERRUPTED, RunStatus.COMPLETED)
    with pytest.raises(ConflictError):
        check_transition(RunStatus.COMPLETED, RunStatus.INTERRUPTED)


@pytest.mark.parametrize("budget", [0.0, -1.0, float("inf"), float("nan")])
def test_a_budget_must_be_a_positive_finite_amount(budget: float) -> None:
    with pytest.raises(ValidationError, match="positive"):
        check_budget(budget)


def test_a_long_error_is_cut_to_one_bounded_line() -> None:
    stored = stored_error("provider-error: " + "x " * 400)
    assert stored is not None and len(stored) == MAX_ERROR_CHARS and stored.endswith("…")


def test_run_resume_takes_a_budget_on_the_command_line() -> None:
    from engine.cli import build_parser

    args = build_parser().parse_args(["run", "resume", "run_1", "--budget", "2.5"])
    assert (args.run, args.budget) == ("run_1", 2.5)
    assert build_parser().parse_args(["run", "resume", "run_1"]).budget is None


def test_run_resume_takes_a_concurrency_and_keeps_the_runs_without_one() -> None:
    from engine.cli import build_parser

    args = build_parser().parse_args(["run", "resume", "run_1", "--concurrency", "3"])
    assert args.concurrency == 3
    assert build_parser().parse_args(["run", "resume", "run_1"]).concurrency is None
