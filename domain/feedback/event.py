"""`Feedback`: one person's word on one cell of a run, as recorded (never edited)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from domain.errors import ValidationError

Verdict = Literal["pass", "fail"]
MAX_TEXT = 20_000
MAX_TAGS = 20


@dataclass(frozen=True, kw_only=True)
class Feedback:
    """A person's feedback on one cell (run × prompt version × model × case × repeat).

    Attributes:
        run_id, prompt_version, model, case_id, repeat: The cell's key.
        author: Who gave it.
        created_at: When (ISO 8601, UTC); orders a cell's feedback.
        verdict: ``"pass"`` or ``"fail"``: overrides the scorers' verdict.
        score: Within [0, 1]: overrides the cell's score.
        correction: What the output should have been.
        comment: Free text.
        tags: Short labels.
    """

    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int = 0
    author: str
    created_at: str
    verdict: Verdict | None = None
    score: float | None = None
    correction: str | None = None
    comment: str | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("run_id", "prompt_version", "model", "case_id", "author"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValidationError(f"feedback {name} must be a non-empty string", field=name)
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int) or self.repeat < 0:
            raise ValidationError(
                f"feedback repeat must be an integer >= 0, got {self.repeat!r}", field="repeat"
            )
        if self.verdict not in (None, "pass", "fail"):
            raise ValidationError(
                f"verdict must be 'pass' or 'fail', got {self.verdict!r}", field="verdict"
            )
        if self.score is not None:
            if (
                isinstance(self.score, bool)
                or not isinstance(self.score, int | float)
                or not math.isfinite(self.score)
                or not 0.0 <= self.score <= 1.0
            ):
                raise ValidationError(
                    f"score must be a number within [0, 1], got {self.score!r}", field="score"
                )
            object.__setattr__(self, "score", float(self.score))
        for name in ("correction", "comment"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
                raise ValidationError(
                    f"{name} must be text of at most {MAX_TEXT:,} characters", field=name
                )
        tags = tuple(self.tags)
        if len(tags) > MAX_TAGS or not all(
            isinstance(t, str) and 0 < len(t) <= 100 and t.strip() == t for t in tags
        ):
            raise ValidationError(
                f"tags must be at most {MAX_TAGS} non-empty labels of up to 100 characters "
                "without surrounding spaces",
                field="tags",
            )
        object.__setattr__(self, "tags", tags)
        if (
            self.verdict is None
            and self.score is None
            and not (self.correction or self.comment or tags)
        ):
            raise ValidationError(
                "feedback needs a verdict, a score, a correction, a comment or a tag",
                reason="empty-feedback",
            )

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The cell's key within its run (as `ResultRow.key`)."""
        return (self.prompt_version, self.model, self.case_id, self.repeat)

    @property
    def overrides(self) -> bool:
        """Whether it changes the cell's verdict or score (a comment alone does not)."""
        return self.verdict is not None or self.score is not None

    @property
    def passed(self) -> bool | None:
        """The verdict as a boolean (``None`` when none was given)."""
        return None if self.verdict is None else self.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "run_id": self.run_id,
            "prompt_version": self.prompt_version,
            "model": self.model,
            "case_id": self.case_id,
            "repeat": self.repeat,
            "author": self.author,
            "created_at": self.created_at,
            "verdict": self.verdict,
            "score": self.score,
            "correction": self.correction,
            "comment": self.comment,
            "tags": list(self.tags),
        }
