"""How a run ends: the status and stored error once nothing of it is in flight any more."""

from __future__ import annotations

from dataclasses import dataclass

from domain.evaluation.failure import run_error
from domain.evaluation.run import RunStatus


@dataclass(frozen=True, kw_only=True)
class RunTally:
    """What the scheduler knows of a run when its last batch is back.

    Attributes:
        total: The run's cells.
        recorded: Cells the database holds.
        dead: Result entries dead-lettered (they will never be recorded).
        missing: Cells neither recorded nor in flight (0 unless ``recorded < total``).
        repairs_left: How many more times the missing cells may be queued again.
        stopped: The status and error a failed batch stopped the run with, if any.
        cancelled: Whether the run was cancelled.
        budget_exceeded: Whether a cell was refused by the budget.
    """

    total: int
    recorded: int
    dead: int = 0
    missing: int = 0
    repairs_left: int = 0
    stopped: tuple[RunStatus, str] | None = None
    cancelled: bool = False
    budget_exceeded: bool = False

    @property
    def may_repair(self) -> bool:
        """Whether missing cells would be queued again: only then are they worth counting."""
        ended = self.stopped is not None or self.cancelled or self.budget_exceeded
        return not ended and self.recorded < self.total and self.dead == 0 and self.repairs_left > 0


@dataclass(frozen=True)
class RunEnd:
    """The decision: ``repair`` (queue the missing cells again) or a final status."""

    status: RunStatus | None
    error: str | None = None
    over_budget_cells: int = 0

    @property
    def repair(self) -> bool:
        """Whether the run goes on with its missing cells instead of ending."""
        return self.status is None


REPAIR = RunEnd(None)


def run_end(tally: RunTally) -> RunEnd:
    """How a run whose last batch is back ends, first reason first: a stop, a cancel, the
    budget, then whether every cell is recorded (lost cells are tried again while repairs
    are left and nothing was dead-lettered).

    Examples:
        >>> run_end(RunTally(total=4, recorded=4)).status.value
        'completed'
        >>> run_end(RunTally(total=4, recorded=3, missing=1, repairs_left=1)).repair
        True
    """
    if tally.stopped is not None:
        return RunEnd(*tally.stopped)
    if tally.cancelled:
        return RunEnd(RunStatus.CANCELLED)
    if tally.budget_exceeded:
        not_run = tally.total - tally.recorded
        return RunEnd(
            RunStatus.BUDGET_EXCEEDED,
            run_error(
                "budget-exceeded",
                f"the budget was reached with {not_run} of {tally.total} cells not run; "
                "resume with a higher budget to finish",
            ),
            over_budget_cells=not_run,
        )
    if tally.recorded >= tally.total:
        return RunEnd(RunStatus.COMPLETED)
    if tally.may_repair and tally.missing:
        return REPAIR
    return RunEnd(
        RunStatus.FAILED,
        run_error(
            "incomplete",
            f"{tally.recorded} of {tally.total} cells recorded; {tally.dead} dead-lettered",
        ),
    )
