"""Refs a person types: ``main``, ``production``, ``v3``, an id or its prefix, then ``~N``.

Parsing is a pure rule; resolving it is the state's (`PromptState.resolve`) or the read
side's (`engine.prompts.queries`), in the same order: a full version id, a branch, a label,
a version number, an id prefix; then ``~N`` walks ``N`` first parents back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import NotFoundError, ValidationError

REF_FORMS = (
    "a branch, a label, vN (version number N), a version id or its first 7+ hex digits, "
    "each optionally followed by ~N (N first parents back, e.g. main~1)"
)
"""What a ref can be, for error messages and help texts."""

MIN_PREFIX_LENGTH = 7
_NUMBER = re.compile(r"v([1-9][0-9]{0,8})")
_BACK = re.compile(r"[0-9]{0,4}")


@dataclass(frozen=True)
class Ref:
    """A parsed ref: ``base`` names a version, ``back`` first parents are walked from it.

    Attributes:
        text: The ref as typed.
        base: The part before any ``~``.
        number: The version number when ``base`` reads ``vN``.
        back: How many first parents back (``main~~`` and ``main~2`` are both 2).
    """

    text: str
    base: str
    number: int | None
    back: int


def parse_ref(text: str) -> Ref:
    """Split ``text`` into its base and ``~N`` steps.

    Raises:
        ValidationError: ``reason="invalid-ref"`` for an empty base or a ``~`` not followed
            by a number.

    Examples:
        >>> parse_ref("main~2")
        Ref(text='main~2', base='main', number=None, back=2)
        >>> parse_ref("v3~").number, parse_ref("v3~").back
        (3, 1)
    """
    base, *steps = text.split("~")
    if not base or not all(_BACK.fullmatch(step) for step in steps):
        raise ValidationError(
            f"invalid ref {text[:120]!r}: a ref is {REF_FORMS}", reason="invalid-ref", ref=text
        )
    number = _NUMBER.fullmatch(base)
    back = sum(int(step) if step else 1 for step in steps)
    return Ref(text, base, int(number.group(1)) if number else None, back)


def is_version_number(name: str) -> bool:
    """Whether ``name`` reads as a version number (``v3``): no branch or label may take it."""
    return _NUMBER.fullmatch(name) is not None


def could_be_prefix(base: str) -> bool:
    """Whether ``base`` has the shape of a version id prefix."""
    return len(base) >= MIN_PREFIX_LENGTH and re.fullmatch(r"[0-9a-f]{7,64}", base) is not None


def unknown_ref(ref: str) -> NotFoundError:
    """The error for a ref that names nothing, listing what a ref can be."""
    return NotFoundError(
        f"no version, branch or label {ref[:120]!r}; a ref is {REF_FORMS}",
        reason="unknown-ref",
        ref=ref,
    )


def past_the_first_version(ref: Ref, available: int) -> NotFoundError:
    """The error for ``~N`` walking further back than the history goes."""
    return NotFoundError(
        f"{ref.text!r} goes {ref.back} versions back, but {ref.base!r} has {available} before it",
        reason="unknown-ref",
        ref=ref.text,
    )


def ambiguous_prefix(ref: str, candidates: list[str]) -> ValidationError:
    """The error for an id prefix that several versions share."""
    return ValidationError(
        f"version prefix {ref!r} is ambiguous ({len(candidates)} versions start with it); "
        "type more digits",
        reason="ambiguous-ref",
        ref=ref,
        candidates=sorted(candidates),
    )


def version_name(number: int, labels: Sequence[str] = ()) -> str:
    """How a person names a version: its number and the labels on it.

    Examples:
        >>> version_name(3, ["production"])
        'v3 (production)'
    """
    return f"v{number}" + (f" ({', '.join(sorted(labels))})" if labels else "")
