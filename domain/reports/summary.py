"""Per-group summaries of a run's results: pass rates, scores, latency, tokens, cost."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean

from domain.errors import NotFoundError, ValidationError
from domain.reports.failed import FailedCase, failed_cases
from domain.reports.records import ResultRecord
from domain.reports.stats import percentile, wilson_interval

TOP_ERRORS = 5


@dataclass(frozen=True, kw_only=True)
class GroupSummary:
    """What one prompt version × model did over its cells.

    Pass counting: an errored cell counts as a failure; a cell that neither errored nor got
    a verdict (no pass/fail scorer) is *ungraded* and left out. So ``pass_rate`` is
    ``n_passed / n_graded`` and ``pass_rate_without_errors`` is
    ``n_passed / (n_graded - n_errors)``; both are ``None`` when their denominator is 0.
    ``pass_ci`` is the 95% Wilson score interval of ``pass_rate``.

    Means are over cells that have a score (errored cells usually have none). Latency
    percentiles (the provider's answer time) and queue percentiles (waits for permits, the
    budget and retries) interpolate linearly (numpy's default) over cells that recorded them,
    cached ones included. ``cost_usd`` sums the known costs; ``n_cost_unknown`` counts cells
    whose cost is not known. ``top_errors`` holds the most frequent error messages with counts.
    """

    prompt_version: str
    model: str
    n_cells: int
    n_errors: int
    n_graded: int
    n_passed: int
    pass_rate: float | None
    pass_ci: tuple[float, float] | None
    pass_rate_without_errors: float | None
    mean_score: float | None
    mean_scores: Mapping[str, float] = field(hash=False)
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    queue_p50_ms: float | None = None
    queue_p95_ms: float | None = None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    n_cost_unknown: int
    n_fallback: int
    n_cached: int
    top_errors: tuple[tuple[str, int], ...] = ()
    version_name: str = ""
    """How a person names the version (``v3 (production)``); empty when not known."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Report:
    """The summary of a set of results: one group per prompt version × model, sorted, and
    the first failed cells (`failed_cases`) with their case and reasons."""

    groups: tuple[GroupSummary, ...]
    run_ids: tuple[str, ...] = ()
    n_results: int = 0
    failed_cases: tuple[FailedCase, ...] = ()
    n_failed: int = 0

    def group(self, prompt_version: str, model: str) -> GroupSummary:
        """The summary of one prompt version × model.

        Raises:
            NotFoundError: when the report has no such group.
        """
        for summary in self.groups:
            if (summary.prompt_version, summary.model) == (prompt_version, model):
                return summary
        raise NotFoundError(f"no results for {prompt_version} on {model}", reason="no-group")


def summarize(
    results: Iterable[ResultRecord], version_names: Mapping[str, str] | None = None
) -> Report:
    """Summarise results per (prompt version, model).

    Args:
        results: Recorded cells, in any order, from one run or several.
        version_names: Version id → how a person names it (``v3 (production)``).

    Returns:
        A report whose groups are sorted by prompt version, then model.

    Raises:
        ValidationError: ``reason="duplicate-cell"`` when a cell (run, prompt version,
            model, case, repeat) appears twice.

    Examples:
        >>> r = ResultRecord(run_id="r", prompt_version="v1", model="m", case_id="c",
        ...                  passed=True, score=1.0)
        >>> summarize([r]).group("v1", "m").pass_rate
        1.0
    """
    records = list(results)
    names = version_names or {}
    _reject_duplicates(records)
    groups: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for record in records:
        groups[(record.prompt_version, record.model)].append(record)
    return Report(
        groups=tuple(
            replace(summarize_group(groups[key]), version_name=names.get(key[0], ""))
            for key in sorted(groups)
        ),
        run_ids=tuple(sorted({record.run_id for record in records})),
        n_results=len(records),
        failed_cases=failed_cases(records),
        n_failed=sum(record.verdict is False for record in records),
    )


def summarize_group(records: Sequence[ResultRecord]) -> GroupSummary:
    """The summary of cells that share one prompt version and model (see :class:`GroupSummary`)."""
    if not records:
        raise ValidationError("cannot summarise no results", reason="empty")
    verdicts = [r.verdict for r in records if r.verdict is not None]
    n_errors = sum(r.errored for r in records)
    n_passed = sum(verdicts)
    n_graded = len(verdicts)
    latencies = [r.latency_ms for r in records if r.latency_ms is not None]
    queued = [r.queue_ms for r in records if r.queue_ms is not None]
    costs = [r.cost_usd for r in records if r.cost_usd is not None]
    return GroupSummary(
        prompt_version=records[0].prompt_version,
        model=records[0].model,
        n_cells=len(records),
        n_errors=n_errors,
        n_graded=n_graded,
        n_passed=n_passed,
        pass_rate=_ratio(n_passed, n_graded),
        pass_ci=wilson_interval(n_passed, n_graded) if n_graded else None,
        pass_rate_without_errors=_ratio(n_passed, n_graded - n_errors),
        mean_score=_mean([r.score for r in records if r.score is not None]),
        mean_scores=_mean_scores(records),
        latency_p50_ms=percentile(latencies, 50) if latencies else None,
        latency_p95_ms=percentile(latencies, 95) if latencies else None,
        queue_p50_ms=percentile(queued, 50) if queued else None,
        queue_p95_ms=percentile(queued, 95) if queued else None,
        prompt_tokens=sum(r.prompt_tokens for r in records),
        completion_tokens=sum(r.completion_tokens for r in records),
        cost_usd=sum(costs),
        n_cost_unknown=len(records) - len(costs),
        n_fallback=sum(r.fallback_model is not None for r in records),
        n_cached=sum(r.cached for r in records),
        top_errors=tuple(
            Counter(r.error for r in records if r.error is not None).most_common(TOP_ERRORS)
        ),
    )


def _reject_duplicates(records: list[ResultRecord]) -> None:
    seen: set[tuple[str, str, str, str, int]] = set()
    for r in records:
        key = (r.run_id, r.prompt_version, r.model, r.case_id, r.repeat)
        if key in seen:
            raise ValidationError(
                f"cell recorded twice: case {r.case_id!r} repeat {r.repeat} of "
                f"{r.prompt_version} on {r.model} in run {r.run_id}",
                reason="duplicate-cell",
            )
        seen.add(key)


def _mean_scores(records: Sequence[ResultRecord]) -> dict[str, float]:
    by_name: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for name, value in record.scores.items():
            by_name[name].append(value)
    return {name: fmean(values) for name, values in sorted(by_name.items())}


def _mean(values: list[float]) -> float | None:
    return fmean(values) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None
