"""A playground session and its turns, as plain values; the rules of what they may hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.datasets import TestCase
from domain.errors import NotFoundError, ValidationError
from domain.feedback import PROVENANCE

MAX_MODELS = 8
MAX_VARIABLES = 64
MAX_VALUE_CHARS = 32_000
TurnStatus = Literal["running", "done"]


@dataclass(frozen=True)
class Answer:
    """One model's answer in a turn (``content`` None when it failed: ``error`` says why)."""

    model: str
    content: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    model_used: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "content": self.content,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "cached": self.cached,
            "model_used": self.model_used,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Turn:
    """The ``number``-th try of a session: a prompt version rendered with ``variables`` and
    sent to each model of the session."""

    session_id: str
    number: int
    prompt_version: str
    variables: dict[str, Any]
    author: str
    started_at: str
    status: TurnStatus = "running"
    answers: tuple[Answer, ...] = ()
    finished_at: str | None = None

    def answer(self, model: str) -> Answer:
        """This turn's answer from ``model``.

        Raises:
            NotFoundError: the session asked no such model.
        """
        for answer in self.answers:
            if answer.model == model:
                return answer
        raise NotFoundError(
            f"turn {self.number} has no answer from {model!r}", reason="unknown-model"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "number": self.number,
            "prompt_version": self.prompt_version,
            "variables": dict(self.variables),
            "author": self.author,
            "started_at": self.started_at,
            "status": self.status,
            "answers": [a.to_dict() for a in self.answers],
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True)
class PlaygroundSession:
    """A prompt tried across ``models``; turns follow ``prompt_version`` (the version an
    edit committed from the session moves it to)."""

    id: str
    owner: str
    prompt_id: str
    prompt_version: str
    models: tuple[str, ...]
    created_by: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prompt_id": self.prompt_id,
            "prompt_version": self.prompt_version,
            "models": list(self.models),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "params": dict(self.params),
        }


def check_models(models: Sequence[str]) -> tuple[str, ...]:
    """The session's models, each once and in order.

    Raises:
        ValidationError: none, more than `MAX_MODELS`, a repeat, or an empty name.
    """
    chosen = tuple(models)
    if not chosen or len(chosen) > MAX_MODELS:
        raise ValidationError(
            f"a playground session needs 1 to {MAX_MODELS} models, got {len(chosen)}",
            reason="models",
        )
    if any(not isinstance(m, str) or not m.strip() for m in chosen):
        raise ValidationError("a model name must be a non-empty string", reason="models")
    if len(set(chosen)) != len(chosen):
        raise ValidationError("each model may be named once", reason="models")
    return chosen


def check_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """A turn's variables: names to strings, numbers, booleans or None, bounded in size.

    Raises:
        ValidationError: too many, a bad name, a nested value, or a value too long.
    """
    if len(variables) > MAX_VARIABLES:
        raise ValidationError(f"at most {MAX_VARIABLES} variables", reason="variables")
    checked: dict[str, Any] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not name or len(name) > 128:
            raise ValidationError("a variable name is 1 to 128 characters", reason="variables")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValidationError(
                f"variable {name!r} must be text, a number or a boolean", reason="variables"
            )
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise ValidationError(
                f"variable {name!r} is over {MAX_VALUE_CHARS} characters", reason="variables"
            )
        checked[name] = value
    return checked


def case_from_turn(
    turn: Turn, model: str, *, expected: str | None = None, saved_by: str, case_id: str = ""
) -> TestCase:
    """A test case made from a turn: its variables, and ``expected`` (default: ``model``'s
    answer), with ``metadata["provenance"]`` naming the session, turn, model and who saved it.

    Raises:
        NotFoundError: no answer from ``model`` in the turn.
        ValidationError: the turn is still running, or the answer failed and no
            ``expected`` was given.
    """
    if turn.status != "done":
        raise ValidationError(f"turn {turn.number} is still running", reason="turn-running")
    answer = turn.answer(model)
    wanted = expected if expected is not None else answer.content
    if wanted is None:
        raise ValidationError(
            f"{model} gave no answer in turn {turn.number}; give the expected output",
            reason="no-answer",
        )
    provenance = {
        "playground_session": turn.session_id,
        "turn": turn.number,
        "prompt_version": turn.prompt_version,
        "model": model,
        "author": saved_by,
        "edited": expected is not None and expected != answer.content,
    }
    return TestCase(
        id=case_id,
        variables=dict(turn.variables),
        expected=wanted,
        metadata={PROVENANCE: provenance},
    )
