"""How a run ends: the status and stored error once nothing of it is in flight any more."""

from __future__ import annotations

from dataclasses import dataclass

from domain.evaluation.budget_stop import budget_stop_error
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
        run_id: The run (its budget message names the resume to type).
        spent_usd: What the run has spent, earlier sessions included.
        limit_usd: The run's own cap; None when its owner's budget stopped it.
    """

    total: int
    recorded: int
    dead: int = 0
    missing: int = 0
    repairs_left: int = 0
    stopped: tuple[RunStatus, str] | None = None
    cancelled: bool = False
    budget_exceeded: bool = False
    run_id: str = ""
    spent_usd: float = 0.0
    limit_usd: float | None = None

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
        error = budget_stop_error(
            tally.run_id,
            spent_usd=tally.spent_usd,
            limit_usd=tally.limit_usd,
            recorded=tally.recorded,
            total=tally.total,
        )
        return RunEnd(RunStatus.BUDGET_EXCEEDED, error, tally.total - tally.recorded)
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
