"""Evaluation runs: what a run is, the cells it expands to, and how runs share the pool."""

from domain.evaluation.cells import Cell, expand_cells
from domain.evaluation.fairness import FairQueue
from domain.evaluation.run import (
    TERMINAL_STATUSES,
    RunSpec,
    RunStatus,
    check_budget,
    check_concurrency,
    check_transition,
)

__all__ = [
    "TERMINAL_STATUSES",
    "Cell",
    "FairQueue",
    "RunSpec",
    "RunStatus",
    "check_budget",
    "check_concurrency",
    "check_transition",
    "expand_cells",
]
