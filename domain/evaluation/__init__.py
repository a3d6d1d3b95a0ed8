"""Evaluation runs: what a run is, the cells it expands to, and how runs share the pool."""

from domain.evaluation.cells import Cell, expand_cells
from domain.evaluation.fairness import FairQueue
from domain.evaluation.finish import RunEnd, RunTally, run_end
from domain.evaluation.rows import ResultRow
from domain.evaluation.run import (
    ROUTINGS,
    TERMINAL_STATUSES,
    RunSpec,
    RunStatus,
    check_budget,
    check_concurrency,
    check_routing,
    check_transition,
)

__all__ = [
    "ROUTINGS",
    "TERMINAL_STATUSES",
    "Cell",
    "FairQueue",
    "ResultRow",
    "RunEnd",
    "RunSpec",
    "RunStatus",
    "RunTally",
    "check_budget",
    "check_concurrency",
    "check_routing",
    "check_transition",
    "expand_cells",
    "run_end",
]
