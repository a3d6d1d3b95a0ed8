"""Test cases: the rows of a dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.canonical import sha256_hex
from domain.datasets._canonical import clean_json_object
from domain.errors import ValidationError

ID_HEX_LENGTH = 16
MAX_ID_LENGTH = 256


def derive_case_id(variables: Mapping[str, Any], expected: str | None) -> str:
    """The id of a case that was given none.

    The first 16 hex digits of the SHA-256 of the canonical JSON of
    ``{"variables": ..., "expected": ...}``: the same row always gets the same id.
    """
    return sha256_hex({"variables": dict(variables), "expected": expected})[:ID_HEX_LENGTH]


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

    def __post_init__(self) -> None:
        variables = _object(self.variables, "variables")
        if any(not name for name in variables):
            raise ValidationError("variable names must not be empty", reason="bad-case")
        if self.expected is not None and not isinstance(self.expected, str):
            raise ValidationError("expected must be a string or null", reason="bad-case")
        if not variables and self.expected is None:
            raise ValidationError("case has no variables and no expected", reason="bad-case")
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "metadata", _object(self.metadata, "metadata"))
        object.__setattr__(self, "tags", _tags(self.tags))
        object.__setattr__(self, "id", _case_id(self.id, variables, self.expected))

    def to_dict(self) -> dict[str, Any]:
        """The case as plain JSON: ``{"id", "variables", "expected", "metadata", "tags"}``."""
        return {
            "id": self.id,
            "variables": self.variables,
            "expected": self.expected,
            "metadata": self.metadata,
            "tags": list(self.tags),
        }


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


def _case_id(value: Any, variables: dict[str, Any], expected: str | None) -> str:
    if value == "":
        return derive_case_id(variables, expected)
    if not isinstance(value, str) or value.strip() != value or len(value) > MAX_ID_LENGTH:
        raise ValidationError(
            f"id must be a string of 1 to {MAX_ID_LENGTH} characters without surrounding spaces",
            reason="bad-case",
        )
    return value
