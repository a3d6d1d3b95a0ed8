"""What a run stopped at its budget tells its owner: what it spent, what is left, what to do."""

from __future__ import annotations

import math

from domain.evaluation.failure import run_error

RESUME_MARGIN = 1.1
"""Head room of a suggested budget over the run's cost projected from its cells so far."""


def suggested_budget(spent_usd: float, recorded: int, total: int, limit_usd: float) -> float:
    """A cap that would let the run finish: its cost per recorded cell times its cells, with
    a margin, rounded up to two significant figures; never below the current cap's next step.

    Examples:
        >>> suggested_budget(0.0483, 83, 120, 0.05)
        0.077
        >>> suggested_budget(0.0, 0, 120, 0.05)
        0.1
    """
    projected = spent_usd / recorded * total * RESUME_MARGIN if recorded else 0.0
    wanted = max(projected, limit_usd * RESUME_MARGIN if recorded else 2 * limit_usd)
    step = 10.0 ** (math.floor(math.log10(wanted)) - 1)
    return round(math.ceil(round(wanted / step, 9)) * step, 12)


def budget_stop_error(
    run_id: str, *, spent_usd: float, limit_usd: float | None, recorded: int, total: int
) -> str:
    """The stored error of a run stopped at its budget (``limit_usd`` None: the run had no
    cap of its own, its owner's budget stopped it).

    Examples:
        >>> budget_stop_error("run_1", spent_usd=0.0483, limit_usd=0.05, recorded=83, total=120)
        'budget-exceeded: stopped at the budget: spent $0.0483 of $0.05; 37 of 120 cells not \
run; resume with a higher budget: autoforge run resume run_1 --budget 0.077'
    """
    left = f"{total - recorded} of {total} cells not run"
    if limit_usd is None:
        return run_error(
            "budget-exceeded",
            f"stopped at the owner's budget: the run spent ${spent_usd:.4f}; {left}; "
            f"resume once the owner's budget allows: autoforge run resume {run_id}",
        )
    higher = suggested_budget(spent_usd, recorded, total, limit_usd)
    return run_error(
        "budget-exceeded",
        f"stopped at the budget: spent ${spent_usd:.4f} of ${limit_usd:g}; {left}; "
        f"resume with a higher budget: autoforge run resume {run_id} --budget {higher:g}",
    )
