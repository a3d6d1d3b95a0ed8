"""`FeedbackReport`: the feedback part of a run's report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.feedback.alignment import JudgeAlignment, judge_alignment, judge_thresholds
from domain.feedback.effective import FeedbackSummary, summarize_feedback, with_feedback
from domain.feedback.event import Feedback
from domain.reports.records import ResultRecord


@dataclass(frozen=True)
class FeedbackReport:
    """What people's feedback changed in a run, and each judge scorer's alignment with them."""

    summary: FeedbackSummary
    judges: tuple[JudgeAlignment, ...] = ()

    @property
    def empty(self) -> bool:
        """Nobody gave feedback on the run's cells."""
        return self.summary.n_feedback == 0


def feedback_report(
    cells: Sequence[ResultRecord],
    feedbacks: Sequence[Feedback],
    scorers: Iterable[Mapping[str, object]] = (),
) -> FeedbackReport:
    """The feedback part of a run's report: `summarize_feedback` over ``cells`` with their
    overrides, and the alignment of each ``llm-judge`` among ``scorers`` (the run's scorer
    records) with people's verdicts."""
    marked = with_feedback(cells, feedbacks)
    judges = judge_thresholds(scorers)
    return FeedbackReport(
        summarize_feedback(marked, feedbacks),
        tuple(judge_alignment(cells, feedbacks, judges)),
    )
