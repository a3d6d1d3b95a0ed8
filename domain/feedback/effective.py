"""What a cell's feedback makes of its verdict and score, and how many cells it changed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from domain.feedback.event import Feedback
from domain.reports.records import ResultRecord


@dataclass(frozen=True)
class Effective:
    """A cell's verdict and score once feedback is applied."""

    passed: bool | None
    score: float | None
    overridden: bool


def effective(cell: ResultRecord, feedbacks: Iterable[Feedback]) -> Effective:
    """The verdict and score that count for ``cell``.

    The latest feedback (by ``created_at``, then by order given) with a verdict or a score
    wins over the scorers: its verdict replaces the cell's (a verdict alone also stands for
    a score of 1 or 0); its score replaces the cell's (a score alone keeps the scorers'
    verdict). Comment-, correction- and tag-only feedback changes nothing; so does feedback
    on another cell.
    """
    mine = [f for f in feedbacks if f.run_id == cell.run_id and f.key == cell.key and f.overrides]
    if not mine:
        return Effective(cell.passed, cell.score, False)
    latest = max(enumerate(mine), key=lambda pair: (pair[1].created_at, pair[0]))[1]
    passed = cell.passed if latest.passed is None else latest.passed
    score = latest.score if latest.score is not None else (1.0 if latest.passed else 0.0)
    return Effective(passed, score, True)


def verdict_overrides(feedbacks: Iterable[Feedback]) -> dict[tuple[str, str, str, int], bool]:
    """Cell key → the verdict people gave it, for the cells whose latest overriding feedback
    (as `effective` picks it) has a verdict; a score alone keeps the scorers' verdict."""
    latest: dict[tuple[str, str, str, int], tuple[str, int, Feedback]] = {}
    for order, item in enumerate(feedbacks):
        if not item.overrides:
            continue
        seen = latest.get(item.key)
        if seen is None or (item.created_at, order) >= seen[:2]:
            latest[item.key] = (item.created_at, order, item)
    return {key: f.passed for key, (_, _, f) in latest.items() if f.passed is not None}


def with_feedback(
    cells: Iterable[ResultRecord], feedbacks: Iterable[Feedback]
) -> list[ResultRecord]:
    """``cells`` carrying their overrides (``overridden``, ``effective_passed`` and
    ``effective_score``; see `effective`)."""
    by_cell: dict[tuple[str, tuple[str, str, str, int]], list[Feedback]] = defaultdict(list)
    for item in feedbacks:
        by_cell[(item.run_id, item.key)].append(item)
    out = []
    for cell in cells:
        mine = by_cell.get((cell.run_id, cell.key))
        if not mine:
            out.append(cell)
            continue
        result = effective(cell, mine)
        out.append(
            replace(
                cell,
                overridden=result.overridden,
                override_passed=result.passed if result.overridden else None,
                override_score=result.score if result.overridden else None,
            )
        )
    return out


def as_effective(cell: ResultRecord) -> ResultRecord:
    """``cell`` with its effective verdict and score in place of the scorers' (what a report
    of the effective pass rate summarises). An errored cell still counts as failed there, as
    reports count every errored cell, whatever a person said of it."""
    if not cell.overridden:
        return cell
    return replace(cell, passed=cell.effective_passed, score=cell.effective_score)


@dataclass(frozen=True)
class FeedbackSummary:
    """How feedback changed a run: feedback given, cells overridden, pass rates before and
    after (over graded cells, errored cells failing, as reports count them)."""

    n_feedback: int
    n_cells_with_feedback: int
    n_overridden: int
    automatic_pass_rate: float | None
    effective_pass_rate: float | None


def summarize_feedback(
    cells: Sequence[ResultRecord], feedbacks: Sequence[Feedback]
) -> FeedbackSummary:
    """The feedback numbers of ``cells`` (as `with_feedback` returned them)."""
    keys = {(c.run_id, c.key) for c in cells}
    given = [f for f in feedbacks if (f.run_id, f.key) in keys]
    automatic = [c.verdict for c in cells if c.verdict is not None]
    counted = [as_effective(c).verdict for c in cells]
    after = [v for v in counted if v is not None]
    return FeedbackSummary(
        n_feedback=len(given),
        n_cells_with_feedback=len({(f.run_id, f.key) for f in given}),
        n_overridden=sum(c.overridden for c in cells),
        automatic_pass_rate=sum(automatic) / len(automatic) if automatic else None,
        effective_pass_rate=sum(after) / len(after) if after else None,
    )
