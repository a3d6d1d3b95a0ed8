"""Run-time rules of a flow's values: parsing an LLM answer, reading a field, testing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.errors import ValidationError
from domain.flows.spec import Predicate


def parse_output(text: str, parse: str) -> Any:
    """An ``llm`` step's value: its text, or (``parse: json``) the JSON it holds.

    A JSON answer wrapped in a Markdown code fence is read too.

    Raises:
        ValidationError: ``reason="unparsable-output"``.
    """
    if parse == "text":
        return text
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        return json.loads(body)
    except ValueError:
        raise ValidationError(
            f"the answer is not JSON: {text[:80]!r}", reason="unparsable-output"
        ) from None


def lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    """The value of ``name`` or ``name.field.0`` (a list index) among ``variables``.

    Raises:
        ValidationError: ``reason="missing-field"``.
    """
    root, *path = dotted.split(".")
    value = variables[root]
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ValidationError(f"{dotted!r} has no field {part!r}", reason="missing-field")
    return value


def holds(
    predicate: Predicate,
    variables: Mapping[str, Any],
    score: Callable[[Mapping[str, Any], Any], float] | None = None,
) -> bool:
    """Whether ``predicate`` holds; ``score`` scores a value with the predicate's scorer."""
    value = lookup(variables, predicate.var)
    if predicate.scorer is not None:
        if score is None:
            raise ValidationError("no scorer to test with", reason="missing-scorer")
        value = score(predicate.scorer, value)
    if predicate.one_of is not None:
        return value in predicate.one_of or _text(value) in [_text(v) for v in predicate.one_of]
    if predicate.contains is not None:
        return predicate.contains in (value if isinstance(value, list) else _text(value))
    if predicate.at_least is not None:
        try:
            return float(value) >= predicate.at_least
        except (TypeError, ValueError):
            return False
    return value == predicate.equals or _text(value) == _text(predicate.equals)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else json.dumps(value, sort_keys=True)
