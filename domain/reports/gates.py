"""CI gates on a run's results: thresholds (``--fail-under``), finishing, and no regression
against a baseline run, each a `GateResult` a CI job can fail on."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from domain.errors import ValidationError
from domain.reports.compare import Comparison, compare, format_p
from domain.reports.records import ResultRecord


@dataclass(frozen=True)
class Threshold:
    """``--fail-under``: the run's pass rate (``scorer`` is ``None``) or the mean of one
    scorer's value must be at least ``minimum``."""

    minimum: float
    scorer: str | None = None

    @property
    def name(self) -> str:
        return "pass rate" if self.scorer is None else f"mean {self.scorer}"


@dataclass(frozen=True, kw_only=True)
class GateResult:
    """One gate's outcome: ``actual`` against ``threshold`` (as text), and why."""

    name: str
    passed: bool
    threshold: str
    actual: str
    detail: str


def parse_threshold(text: str) -> Threshold:
    """``"0.8"`` (the pass rate) or ``"NAME=0.8"`` (scorer NAME's mean value).

    Raises:
        ValidationError: not a number in [0, 1], or an empty scorer name.

    Examples:
        >>> parse_threshold("correct=0.9")
        Threshold(minimum=0.9, scorer='correct')
    """
    name, equals, value = text.rpartition("=")
    if equals and not name.strip():
        raise ValidationError(f"--fail-under {text!r}: name a scorer before '='", reason="bad-gate")
    try:
        minimum = float(value)
    except ValueError:
        raise ValidationError(
            f"--fail-under {text!r}: expected X or NAME=X with X between 0 and 1",
            reason="bad-gate",
        ) from None
    if not 0 <= minimum <= 1 or math.isnan(minimum):
        raise ValidationError(
            f"--fail-under {text!r}: {value} is not between 0 and 1", reason="bad-gate"
        )
    return Threshold(minimum, name.strip() if equals else None)


def check_scorer_names(thresholds: Iterable[Threshold], scorers: Collection[str]) -> None:
    """Refuse a threshold on a scorer the run does not have.

    Raises:
        ValidationError: naming the unknown scorer and the known ones.
    """
    for threshold in thresholds:
        if threshold.scorer is not None and threshold.scorer not in scorers:
            known = ", ".join(sorted(scorers)) or "none"
            raise ValidationError(
                f"--fail-under {threshold.scorer}=…: no scorer named {threshold.scorer!r}"
                f" (the eval file's scorers: {known})",
                reason="bad-gate",
            )


def completed_gate(status: str, error: str | None = None) -> GateResult:
    """A run that did not complete (budget, cancel, failure) fails: its gates saw a part."""
    return GateResult(
        name="run completed",
        passed=status == "completed",
        threshold="completed",
        actual=status,
        detail=error or ("" if status == "completed" else f"the run ended {status}"),
    )


def threshold_gate(records: Sequence[ResultRecord], threshold: Threshold) -> GateResult:
    """The run's pass rate (graded cells; an errored cell fails), or the mean of one scorer's
    value over the run's cells (an errored cell, which has no scores, counts 0)."""
    if threshold.scorer is None:
        verdicts = [r.verdict for r in records if r.verdict is not None]
        value = sum(verdicts) / len(verdicts) if verdicts else None
        counted = f"{sum(verdicts)}/{len(verdicts)} graded cells passed"
    else:
        scorer = threshold.scorer
        values = [
            0.0 if r.errored else r.scores[scorer]
            for r in records
            if r.errored or scorer in r.scores
        ]
        value = sum(values) / len(values) if values else None
        counted = f"over {len(values)} cells"
    if value is None:
        return GateResult(
            name=threshold.name,
            passed=False,
            threshold=f"≥ {threshold.minimum:g}",
            actual="–",
            detail="no cell has a value to check",
        )
    return GateResult(
        name=threshold.name,
        passed=value >= threshold.minimum,
        threshold=f"≥ {threshold.minimum:g}",
        actual=f"{value:.3f}",
        detail=counted,
    )


def baseline_comparisons(
    baseline: Sequence[ResultRecord],
    candidate: Sequence[ResultRecord],
    *,
    baseline_version: str,
    candidate_version: str,
    labels: tuple[str, str] = ("baseline", "candidate"),
    alpha: float = 0.05,
) -> tuple[Comparison, ...]:
    """The candidate version against the baseline version, one paired comparison (by case
    and repeat) per model both ran; models only one side ran are left out."""
    sides = [
        _by_model(baseline, baseline_version),
        _by_model(candidate, candidate_version),
    ]
    return tuple(
        compare(
            sides[0][model],
            sides[1][model],
            label_a=f"{labels[0]} on {model}",
            label_b=f"{labels[1]} on {model}",
            alpha=alpha,
        )
        for model in sorted(sides[0].keys() & sides[1].keys())
    )


def _by_model(records: Sequence[ResultRecord], version: str) -> dict[str, list[ResultRecord]]:
    by_model: dict[str, list[ResultRecord]] = {}
    for record in records:
        if record.prompt_version == version:
            by_model.setdefault(record.model, []).append(record)
    return by_model


def regression_gate(comparisons: Sequence[Comparison], alpha: float) -> GateResult:
    """Fails when the baseline wins any comparison significantly (p < ``alpha``), or when
    nothing could be compared (no model and case in common): a gate that cannot be
    checked does not pass."""
    threshold = f"not worse at α={alpha:g}"
    paired = [c for c in comparisons if c.n_pairs]
    if not paired:
        return GateResult(
            name="no regression vs baseline",
            passed=False,
            threshold=threshold,
            actual="–",
            detail="no case and model in common with the baseline run",
        )
    worse = [c for c in paired if c.winner == "a"]
    shown = worse or paired
    return GateResult(
        name="no regression vs baseline",
        passed=not worse,
        threshold=threshold,
        actual=", ".join(_p(c) for c in shown),
        detail="; ".join(c.verdict for c in shown),
    )


def _p(comparison: Comparison) -> str:
    return "–" if comparison.p_value is None else format_p(comparison.p_value)


def all_passed(gates: Iterable[GateResult]) -> bool:
    """Whether every gate passed (no gates: ``True``)."""
    return all(g.passed for g in gates)
