"""Test cases: the rows of a dataset."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.canonical import sha256_hex
from domain.datasets._canonical import clean_json_object
from domain.errors import ValidationError
from domain.prompts.template import ROLES
from domain.scoring import ScorerSpec, build_scorers

ID_HEX_LENGTH = 16
MAX_ID_LENGTH = 256
MAX_HISTORY = 200


def derive_case_id(
    variables: Mapping[str, Any],
    expected: str | None,
    assertions: Mapping[str, Any] | None = None,
    messages: list[dict[str, str]] | None = None,
) -> str:
    """The id of a case that was given none.

    The first 16 hex digits of the SHA-256 of the canonical JSON of
    ``{"variables": ..., "expected": ...}``: the same row always gets the same id. A case with
    its own assertions adds them (``assertions``: its ``scorers`` and ``threshold``), so two
    cases asking different things of the same input differ; cases without keep their ids.
    A case with a message history adds it the same way.
    """
    content: dict[str, Any] = {"variables": dict(variables), "expected": expected}
    if assertions:
        content["assertions"] = dict(assertions)
    if messages:
        content["messages"] = messages
    return sha256_hex(content)[:ID_HEX_LENGTH]


@dataclass(frozen=True, kw_only=True)
class TestCase:
    """One row of a dataset: the variables a template is rendered with, and what to expect.

    All fields are keyword-only. Variables and metadata are deep-copied on creation (tuples
    become lists); treat them as read-only.

    Args:
        id: A stable id; when empty, derived with :func:`derive_case_id`.
        variables: Template variables, names to JSON values.
        expected: The expected output, if any. A case needs variables, expected or both.
        metadata: Free JSON metadata (source, difficulty, ...).
        tags: Labels to filter by.
        scorers: The case's own assertions, as `ScorerSpec` dicts, scored in addition to the
            run's scorers (a promptfoo test's ``assert``). Validated on creation; their
            names must differ from each other (and, in a run, from the run's scorers).
        threshold: When set, the cell passes iff its weighted combined score reaches it (a
            promptfoo test's ``threshold``); otherwise every weighted scorer must pass.
        messages: The conversation so far, ``{"role", "content"}`` dicts (roles ``system``,
            ``user``, ``assistant``; at most `MAX_HISTORY` messages). The model receives the
            rendered prompt's system messages, then these, then the prompt's other messages
            (`domain.prompts.Rendered.with_history`).

    Raises:
        ValidationError: when a field does not hold what it should.

    Examples:
        >>> TestCase(variables={"q": "2+2"}, expected="4").id
        '436de2d11628dbef'
    """

    __test__ = False  # not a pytest test class despite its name

    id: str = ""
    variables: dict[str, Any] = field(default_factory=dict, hash=False)
    expected: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False)
    tags: tuple[str, ...] = ()
    scorers: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    threshold: float | None = None
    messages: tuple[dict[str, str], ...] = field(default=(), hash=False)

    def __post_init__(self) -> None:
        variables = _object(self.variables, "variables")
        if any(not name for name in variables):
            raise ValidationError("variable names must not be empty", reason="bad-case")
        if self.expected is not None and not isinstance(self.expected, str):
            raise ValidationError("expected must be a string or null", reason="bad-case")
        messages = _messages(self.messages)
        if not variables and self.expected is None and not messages:
            raise ValidationError("case has no variables and no expected", reason="bad-case")
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "metadata", _object(self.metadata, "metadata"))
        object.__setattr__(self, "tags", _tags(self.tags))
        object.__setattr__(self, "scorers", _scorers(self.scorers))
        object.__setattr__(self, "threshold", _threshold(self.threshold))
        object.__setattr__(self, "messages", messages)
        assertions = self._assertions()
        history = [dict(m) for m in messages]
        object.__setattr__(
            self, "id", _case_id(self.id, variables, self.expected, assertions, history)
        )

    def _assertions(self) -> dict[str, Any]:
        assertions: dict[str, Any] = {}
        if self.scorers:
            assertions["scorers"] = [dict(spec) for spec in self.scorers]
        if self.threshold is not None:
            assertions["threshold"] = self.threshold
        return assertions

    def to_dict(self) -> dict[str, Any]:
        """The case as plain JSON: ``{"id", "variables", "expected", "metadata", "tags"}``,
        plus ``scorers``, ``threshold`` and ``messages`` when the case has them (absent
        otherwise, so the content hash of a dataset without them is what it always was)."""
        out = {
            "id": self.id,
            "variables": self.variables,
            "expected": self.expected,
            "metadata": self.metadata,
            "tags": list(self.tags),
            **self._assertions(),
        }
        if self.messages:
            out["messages"] = [dict(m) for m in self.messages]
        return out


def _messages(value: Any) -> tuple[dict[str, str], ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        raise ValidationError("messages must be a list of {role, content}", reason="bad-case")
    if len(value) > MAX_HISTORY:
        raise ValidationError(
            f"messages: at most {MAX_HISTORY} messages in a case's history", reason="bad-case"
        )
    found = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping) or set(raw) != {"role", "content"}:
            raise ValidationError(
                f"messages[{i}] must be an object with exactly role and content",
                reason="bad-case",
            )
        if raw["role"] not in ROLES or not isinstance(raw["content"], str):
            raise ValidationError(
                f"messages[{i}]: role is system, user or assistant and content a string",
                reason="bad-case",
            )
        found.append({"role": str(raw["role"]), "content": raw["content"]})
    return tuple(found)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{path} must be an object", reason="bad-case")
    return clean_json_object(value, path)


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValidationError("tags must be a list of strings", reason="bad-case")
    if any(not isinstance(tag, str) or not tag for tag in value):
        raise ValidationError("tags must be non-empty strings", reason="bad-case")
    return tuple(value)


def _scorers(value: Any) -> tuple[dict[str, Any], ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        raise ValidationError("scorers must be a list of scorer specs", reason="bad-case")
    try:
        specs = [ScorerSpec.from_dict(raw) for raw in value]
        build_scorers(specs)
    except ValidationError as exc:
        raise ValidationError(f"case scorers: {exc.message}", reason="bad-case") from None
    return tuple(spec.to_dict() for spec in specs)


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ValidationError(
            f"threshold must be a number within [0, 1], got {value!r}", reason="bad-case"
        )
    return float(value)


def _case_id(
    value: Any,
    variables: dict[str, Any],
    expected: str | None,
    assertions: dict[str, Any],
    messages: list[dict[str, str]],
) -> str:
    if value == "":
        return derive_case_id(variables, expected, assertions, messages)
    if not isinstance(value, str) or value.strip() != value or len(value) > MAX_ID_LENGTH:
        raise ValidationError(
            f"id must be a string of 1 to {MAX_ID_LENGTH} characters without surrounding spaces",
            reason="bad-case",
        )
    return value
