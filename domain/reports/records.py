"""The recorded result of one cell: what every report is computed from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class ResultRecord:
    """One cell of a run: a prompt version × model × case × repeat, as recorded.

    Attributes:
        run_id: The run the cell belongs to.
        prompt_version: The prompt version id.
        model: The model that was asked (see ``fallback_model`` for who answered).
        case_id: The test case id.
        repeat: The repeat index, from 0.
        output: The model's text, ``None`` when the call failed.
        passed: The pass/fail verdict of the scorers; ``None`` when errored or when no
            scorer gives a verdict.
        score: The overall score, usually in [0, 1]; ``None`` when errored or unscored.
        scores: Score per scorer name.
        latency_ms: Wall time of the model call.
        prompt_tokens: Prompt tokens used.
        completion_tokens: Completion tokens used.
        cost_usd: Cost of the call, ``None`` when unknown.
        error: Why the cell failed, ``None`` when it did not.
        fallback_model: The model that answered instead of ``model``, if any.
        cached: Whether the answer came from the response cache.
    """

    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int = 0
    output: str | None = None
    passed: bool | None = None
    score: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict, hash=False)
    latency_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    fallback_model: str | None = None
    cached: bool = False

    @property
    def errored(self) -> bool:
        """Whether the cell failed (``error`` is set)."""
        return self.error is not None

    @property
    def verdict(self) -> bool | None:
        """Pass/fail as reports count it: an errored cell fails; ``None`` means ungraded."""
        return False if self.errored else self.passed
