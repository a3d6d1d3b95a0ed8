"""The run status rule: what ends a run, in which order, with which stored error."""

from __future__ import annotations

from domain.evaluation import RunStatus
from domain.evaluation.finish import RunTally, run_end


def test_every_cell_recorded_completes() -> None:
    end = run_end(RunTally(total=10, recorded=10))
    assert (end.status, end.error, end.over_budget_cells) == (RunStatus.COMPLETED, None, 0)


def test_a_stop_wins_over_cancel_and_budget() -> None:
    stop = (RunStatus.INTERRUPTED, "interrupted: redis went away")
    end = run_end(
        RunTally(total=10, recorded=3, stopped=stop, cancelled=True, budget_exceeded=True)
    )
    assert (end.status, end.error) == stop


def test_a_cancel_wins_over_the_budget() -> None:
    end = run_end(RunTally(total=10, recorded=3, cancelled=True, budget_exceeded=True))
    assert (end.status, end.error) == (RunStatus.CANCELLED, None)


def test_the_budget_counts_the_cells_not_run() -> None:
    end = run_end(RunTally(total=10, recorded=7, budget_exceeded=True))
    assert end.status == RunStatus.BUDGET_EXCEEDED and end.over_budget_cells == 3
    assert end.error is not None and end.error.startswith("budget-exceeded: ")
    assert "3 of 10 cells not run" in end.error


def test_missing_cells_are_repaired_while_repairs_are_left() -> None:
    assert run_end(RunTally(total=10, recorded=8, missing=2, repairs_left=1)).repair
    assert not run_end(RunTally(total=10, recorded=10)).repair


def test_no_repairs_left_or_dead_letters_fail_the_run() -> None:
    for tally in (
        RunTally(total=10, recorded=8, missing=2, repairs_left=0),
        RunTally(total=10, recorded=8, missing=2, repairs_left=3, dead=2),
        RunTally(total=10, recorded=8, missing=0, repairs_left=3),
    ):
        end = run_end(tally)
        assert end.status == RunStatus.FAILED
        assert end.error == f"incomplete: 8 of 10 cells recorded; {tally.dead} dead-lettered"


def test_missing_cells_are_only_counted_when_they_could_be_repaired() -> None:
    assert RunTally(total=10, recorded=8, repairs_left=1).may_repair
    for tally in (
        RunTally(total=10, recorded=10, repairs_left=1),
        RunTally(total=10, recorded=8, repairs_left=0),
        RunTally(total=10, recorded=8, repairs_left=1, dead=1),
        RunTally(total=10, recorded=8, repairs_left=1, cancelled=True),
        RunTally(total=10, recorded=8, repairs_left=1, budget_exceeded=True),
    ):
        assert not tally.may_repair
