"""Paired comparison of two sets of results: per-case changes, McNemar, bootstrap, verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean

from domain.errors import ValidationError
from domain.reports._pairing import PairKey, SideCell, side_cells
from domain.reports.records import ResultRecord
from domain.reports.stats import mcnemar_exact, paired_bootstrap


@dataclass(frozen=True, kw_only=True)
class CaseChange:
    """One pair of cells: the same case (and repeat) under A and under B.

    ``repeat`` is ``None`` when repeats were folded together (``key="case_id"``).
    """

    case_id: str
    repeat: int | None
    passed_a: bool | None
    passed_b: bool | None
    score_a: float | None
    score_b: float | None
    output_a: str | None
    output_b: str | None


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A paired comparison of A and B.

    Pass rates are over the pairs graded on both sides (an errored cell fails).
    ``improved`` went from fail to pass, ``regressed`` from pass to fail; ``p_value`` is the
    exact McNemar test on those two counts. ``score_difference`` is the mean of B − A over
    pairs scored on both sides, ``score_ci`` its paired-bootstrap interval at ``1 - alpha``.
    ``winner`` is ``"a"``, ``"b"`` or ``None``; ``verdict`` says it in words.
    """

    label_a: str
    label_b: str
    key: str
    n_pairs: int
    n_only_a: int
    n_only_b: int
    n_graded_pairs: int
    pass_rate_a: float | None
    pass_rate_b: float | None
    pass_rate_difference: float | None
    improved: tuple[CaseChange, ...]
    regressed: tuple[CaseChange, ...]
    unchanged: tuple[CaseChange, ...]
    p_value: float | None
    n_score_pairs: int
    mean_score_a: float | None
    mean_score_b: float | None
    score_difference: float | None
    score_ci: tuple[float, float] | None
    alpha: float
    resamples: int
    seed: int
    winner: str | None
    verdict: str


def compare(
    results_a: Iterable[ResultRecord],
    results_b: Iterable[ResultRecord],
    *,
    key: str = "case",
    label_a: str = "A",
    label_b: str = "B",
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Compare two sets of results on the same cases, pair by pair.

    Args:
        results_a: The cells of A: one prompt version × model (e.g. the baseline run).
        results_b: The cells of B, likewise.
        key: ``"case"`` pairs cells by (case id, repeat); ``"case_id"`` folds the repeats of
            a case into one (majority verdict, ties fail; mean score) and pairs by case id,
            which does not count correlated repeats as independent evidence.
        label_a: A's name in the verdict.
        label_b: B's name in the verdict.
        alpha: Significance level of the verdict.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed; equal inputs and seed give an equal comparison.

    Returns:
        The comparison; cells present on one side only are counted, not paired.

    Raises:
        ValidationError: for an unknown key, a side holding several groups or a cell twice.

    Examples:
        >>> compare(run_a, run_b).verdict  # doctest: +SKIP
        'B is better than A (p=0.0039)'
    """
    if not 0 < alpha < 1:
        raise ValidationError(f"alpha must be between 0 and 1, got {alpha}", reason="bad-alpha")
    a = side_cells(results_a, key, label_a)
    b = side_cells(results_b, key, label_b)
    changes = [_change(pair, a[pair], b[pair]) for pair in sorted(a.keys() & b.keys(), key=_order)]
    graded = [c for c in changes if c.passed_a is not None and c.passed_b is not None]
    improved = tuple(c for c in graded if not c.passed_a and c.passed_b)
    regressed = tuple(c for c in graded if c.passed_a and not c.passed_b)
    scored = [(c.score_a, c.score_b) for c in changes]
    pairs = [(sa, sb) for sa, sb in scored if sa is not None and sb is not None]
    differences = [sb - sa for sa, sb in pairs]
    p_value = mcnemar_exact(len(improved), len(regressed)) if graded else None
    ci = (
        paired_bootstrap(differences, resamples=resamples, seed=seed, confidence=1 - alpha)
        if differences
        else None
    )
    winner, verdict = _verdict(label_a, label_b, len(improved) - len(regressed), p_value, ci, alpha)
    rate_a = _rate([bool(c.passed_a) for c in graded])
    rate_b = _rate([bool(c.passed_b) for c in graded])
    return Comparison(
        label_a=label_a,
        label_b=label_b,
        key=key,
        n_pairs=len(changes),
        n_only_a=len(a) - len(changes),
        n_only_b=len(b) - len(changes),
        n_graded_pairs=len(graded),
        pass_rate_a=rate_a,
        pass_rate_b=rate_b,
        pass_rate_difference=None if rate_a is None or rate_b is None else rate_b - rate_a,
        improved=improved,
        regressed=regressed,
        unchanged=tuple(c for c in graded if c.passed_a == c.passed_b),
        p_value=p_value,
        n_score_pairs=len(pairs),
        mean_score_a=fmean(sa for sa, _ in pairs) if pairs else None,
        mean_score_b=fmean(sb for _, sb in pairs) if pairs else None,
        score_difference=fmean(differences) if differences else None,
        score_ci=ci,
        alpha=alpha,
        resamples=resamples,
        seed=seed,
        winner=winner,
        verdict=verdict,
    )


def compare_groups(
    results: Iterable[ResultRecord],
    *,
    a: tuple[str, str],
    b: tuple[str, str],
    key: str = "case",
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
    version_names: Mapping[str, str] | None = None,
) -> Comparison:
    """Compare two (prompt version, model) groups of one set of results, e.g. one run.

    Labels are ``"<version> on <model>"``, the version named by ``version_names`` (id →
    ``v3 (production)``) when given. Other arguments are as for :func:`compare`.

    Raises:
        ValidationError: when ``a`` equals ``b`` or either group has no results.
    """
    if a == b:
        raise ValidationError("compare two different groups", reason="same-group")
    records = list(results)
    names = version_names or {}
    sides = []
    for version, model in (a, b):
        side = [r for r in records if (r.prompt_version, r.model) == (version, model)]
        if not side:
            raise ValidationError(f"no results for {version} on {model}", reason="no-group")
        sides.append(side)
    return compare(
        sides[0],
        sides[1],
        key=key,
        label_a=f"{names.get(a[0]) or _short(a[0])} on {a[1]}",
        label_b=f"{names.get(b[0]) or _short(b[0])} on {b[1]}",
        alpha=alpha,
        resamples=resamples,
        seed=seed,
    )


def _short(version: str) -> str:
    """Content-addressed version ids (64 hex) are shown by their first 12, like Git."""
    return version[:12] if len(version) > 16 else version


def format_p(p_value: float) -> str:
    """``p=0.039``, two significant digits, or ``p<0.001``."""
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.2g}"


def _verdict(
    label_a: str,
    label_b: str,
    net_improved: int,
    p_value: float | None,
    ci: tuple[float, float] | None,
    alpha: float,
) -> tuple[str | None, str]:
    if p_value is not None:
        if p_value < alpha and net_improved != 0:
            if net_improved > 0:
                return "b", f"{label_b} is better than {label_a} ({format_p(p_value)})"
            return "a", f"{label_a} is better than {label_b} ({format_p(p_value)})"
        return None, f"no significant difference ({format_p(p_value)})"
    if ci is not None:
        interval = f"{1 - alpha:.0%} CI of the score difference [{ci[0]:+.3g}, {ci[1]:+.3g}]"
        if ci[0] > 0:
            return "b", f"{label_b} scores higher than {label_a} ({interval})"
        if ci[1] < 0:
            return "a", f"{label_a} scores higher than {label_b} ({interval})"
        return None, f"no significant difference in score ({interval})"
    return None, "nothing to compare: no pair has a verdict or a score on both sides"


def _change(pair: PairKey, a: SideCell, b: SideCell) -> CaseChange:
    return CaseChange(
        case_id=pair[0],
        repeat=pair[1],
        passed_a=a.verdict,
        passed_b=b.verdict,
        score_a=a.score,
        score_b=b.score,
        output_a=a.output,
        output_b=b.output,
    )


def _order(pair: PairKey) -> tuple[str, int]:
    return pair[0], -1 if pair[1] is None else pair[1]


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None
