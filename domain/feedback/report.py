"""`FeedbackReport`: the feedback part of a run's report."""

from __future__ import annotations

from dataclasses import dataclass

from domain.feedback.alignment import JudgeAlignment
from domain.feedback.effective import FeedbackSummary


@dataclass(frozen=True)
class FeedbackReport:
    """What people's feedback changed in a run, and each judge scorer's alignment with them."""

    summary: FeedbackSummary
    judges: tuple[JudgeAlignment, ...] = ()

    @property
    def empty(self) -> bool:
        """Nobody gave feedback on the run's cells."""
        return self.summary.n_feedback == 0
