"""Human feedback on a run's cells: verdicts, score overrides, corrections, comments, how far a
judge scorer agrees with the humans, and corrections turned into test cases.

Feedback is append-only; the latest override of a cell wins over its automatic verdict and
score, and comment-only feedback changes nothing.
"""

from domain.feedback.alignment import (
    JudgeAlignment,
    cohen_kappa,
    confusion_matrix,
    judge_alignment,
    judge_thresholds,
)
from domain.feedback.corrections import PROVENANCE, cases_from_corrections, with_cases
from domain.feedback.effective import (
    FeedbackSummary,
    as_effective,
    effective,
    summarize_feedback,
    verdict_overrides,
    with_feedback,
)
from domain.feedback.event import Feedback, Verdict
from domain.feedback.report import FeedbackReport, feedback_report

__all__ = [
    "Feedback",
    "FeedbackReport",
    "FeedbackSummary",
    "JudgeAlignment",
    "PROVENANCE",
    "Verdict",
    "as_effective",
    "cases_from_corrections",
    "cohen_kappa",
    "confusion_matrix",
    "effective",
    "feedback_report",
    "judge_alignment",
    "judge_thresholds",
    "summarize_feedback",
    "verdict_overrides",
    "with_cases",
    "with_feedback",
]
