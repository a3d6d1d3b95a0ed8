"""The recorded result of one cell, with its case: what every report is computed from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.evaluation.rows import ResultRow


@dataclass(frozen=True, kw_only=True)
class ResultRecord(ResultRow):
    """A recorded `ResultRow` read back with the case it was asked for.

    Attributes:
        variables: The case's template variables (empty when the case is not known).
        expected: The case's expected output, if any.
        overridden: Whether a person's feedback overrides the verdict or score
            (`domain.feedback.with_feedback` sets it and the two overrides).
        override_passed: The person's verdict, when the override gives one.
        override_score: The score the override stands for, when it gives one.
    """

    variables: Mapping[str, Any] = field(default_factory=dict, hash=False)
    expected: str | None = None
    overridden: bool = False
    override_passed: bool | None = None
    override_score: float | None = None

    @property
    def effective_passed(self) -> bool | None:
        """The verdict that counts: a person's override, else the scorers'."""
        return self.override_passed if self.override_passed is not None else self.passed

    @property
    def effective_score(self) -> float | None:
        """The score that counts: a person's override, else the scorers'."""
        return self.override_score if self.override_score is not None else self.score
