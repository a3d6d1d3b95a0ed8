"""Promotion: move a label to the best candidate only when the test split says it is
significantly better than the baseline (exact McNemar on paired pass/fail)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.reports.stats import mcnemar_exact

NOT_SIGNIFICANT = "no significant improvement"


@dataclass(frozen=True)
class PairedTest:
    """The paired test-split outcome of baseline vs best.

    Attributes:
        n: Cases compared.
        b: Cases the baseline passes and the best fails (losses).
        c: Cases the best passes and the baseline fails (wins).
        p_value: Two-sided exact McNemar p-value.
        wins: Case ids of ``c``; losses: of ``b``.
    """

    n: int
    b: int
    c: int
    p_value: float
    wins: tuple[str, ...]
    losses: tuple[str, ...]


def paired_test(
    cases: Sequence[str], baseline: Mapping[str, bool], best: Mapping[str, bool]
) -> PairedTest:
    """McNemar over ``cases`` from each side's pass/fail per case (a missing case fails).

    Examples:
        >>> t = paired_test(["a", "b", "c"], {"a": True}, {"a": True, "b": True, "c": True})
        >>> (t.b, t.c, round(t.p_value, 2))
        (0, 2, 0.5)
    """
    wins = tuple(c for c in cases if best.get(c, False) and not baseline.get(c, False))
    losses = tuple(c for c in cases if baseline.get(c, False) and not best.get(c, False))
    return PairedTest(
        n=len(cases),
        b=len(losses),
        c=len(wins),
        p_value=mcnemar_exact(len(losses), len(wins)),
        wins=wins,
        losses=losses,
    )


def check_alpha(alpha: float) -> None:
    """Raises ``ValidationError(reason="invalid-alpha")`` unless 0 < alpha < 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValidationError(f"alpha must be in (0, 1), got {alpha!r}", reason="invalid-alpha")


def decide(test: PairedTest, alpha: float) -> tuple[bool, str]:
    """Whether to promote, and why: only when ``p < alpha`` and the best wins more.

    Examples:
        >>> decide(PairedTest(20, 0, 10, 0.002, (), ()), 0.05)
        (True, 'significant improvement')
        >>> decide(PairedTest(20, 1, 2, 1.0, (), ()), 0.05)
        (False, 'no significant improvement')
    """
    check_alpha(alpha)
    if test.p_value < alpha and test.c > test.b:
        return True, "significant improvement"
    return False, NOT_SIGNIFICANT


def promotion_data(
    label: str, version: str, test: PairedTest | None, alpha: float, at: str
) -> dict[str, Any]:
    """The ``promoted`` event's fields for a promotion attempt (``test`` None: no test split
    was evaluated, nothing moves)."""
    if test is None:
        promoted, reason, p_value = False, "no test evaluation", None
    else:
        promoted, reason = decide(test, alpha)
        p_value = test.p_value
    return {
        "promoted": promoted,
        "label": label,
        "version": version,
        "p_value": p_value,
        "alpha": alpha,
        "reason": reason,
        "at": at,
    }
