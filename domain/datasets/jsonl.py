"""JSON Lines datasets: one JSON object per line.

A row is either *structured*::

    {"vars": {"question": "2+2?"}, "expected": "4", "metadata": {...}, "tags": [...], "id": "q1"}

(``variables`` may stand for ``vars``; every key but ``vars`` is optional; ``scorers`` and
``threshold`` give the case its own assertions and ``messages`` its conversation so far,
see `TestCase`), or *flat*, the
promptfoo-style convenience for rows without a ``vars``/``variables`` key: every key other
than ``expected``, ``metadata``, ``tags``, ``id``, ``scorers``, ``threshold`` and
``messages`` is a variable::

    {"question": "2+2?", "expected": "4"}

So a flat row cannot have variables with those seven names; use the structured form for them.
A structured row with any other key is an error rather than silently losing it. Numeric ids
are taken as their decimal text. Blank lines are skipped; a leading BOM is ignored.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from domain.datasets.case import TestCase
from domain.datasets.result import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_VALUE_BYTES,
    ParseResult,
    RowCollector,
)
from domain.errors import ValidationError

_VARIABLE_KEYS = ("vars", "variables")
_RESERVED_KEYS = frozenset(
    {"expected", "metadata", "tags", "id", "scorers", "threshold", "messages"}
)


def parse_jsonl(
    text: str,
    *,
    skip_bad: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
) -> ParseResult:
    """Parse a JSON Lines dataset.

    Args:
        text: The file's text.
        skip_bad: Return the good cases and the row errors instead of raising.
        max_rows: The most data rows accepted.
        max_value_bytes: The most bytes one value (UTF-8 text or JSON) may take.

    Returns:
        The cases in file order and, when ``skip_bad``, the skipped rows.

    Raises:
        ValidationError: ``reason="bad-rows"`` naming each bad row by line (all of them in
            ``details["errors"]``), ``"empty"`` when no case remains, ``"too-many-rows"``.

    Examples:
        >>> parse_jsonl('{"q": "2+2?", "expected": "4"}').cases[0].variables
        {'q': '2+2?'}
    """
    collector = RowCollector(max_rows=max_rows, max_value_bytes=max_value_bytes)
    # Split on "\n" only: str.splitlines() would also break on U+2028 and friends, which
    # JSON allows unescaped inside strings.
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.strip()
        if line:
            collector.row(number, partial(_case, line))
    return collector.finish(skip_bad=skip_bad)


def _case(line: str) -> tuple[TestCase, bool]:
    try:
        row = json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"invalid JSON ({exc.msg} at column {exc.colno})") from exc
    except ValueError as exc:
        raise ValidationError(f"invalid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ValidationError("invalid JSON (nested too deeply)") from exc
    if not isinstance(row, dict):
        raise ValidationError(f"row is not an object but {_json_type(row)}")
    case_id = _case_id(row.get("id"))
    case = TestCase(
        id=case_id,
        variables=_variables(row),
        expected=_expected(row.get("expected")),
        metadata=_optional_object(row.get("metadata"), "metadata"),
        tags=_tags(row.get("tags")),
        scorers=_scorers(row.get("scorers")),
        threshold=row.get("threshold"),
        messages=row.get("messages") or (),
    )
    return case, bool(case_id)


def _variables(row: dict[str, Any]) -> dict[str, Any]:
    present = [key for key in _VARIABLE_KEYS if key in row]
    if not present:
        return {key: value for key, value in row.items() if key not in _RESERVED_KEYS}
    if len(present) > 1:
        raise ValidationError("row has both 'vars' and 'variables'")
    unknown = sorted(set(row) - _RESERVED_KEYS - set(_VARIABLE_KEYS))
    if unknown:
        raise ValidationError(
            f"unknown keys {', '.join(map(repr, unknown))} (variables belong under {present[0]!r})"
        )
    variables = row[present[0]]
    if not isinstance(variables, dict):
        raise ValidationError(f"{present[0]!r} is not an object but {_json_type(variables)}")
    return variables


def _expected(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"'expected' is not a string but {_json_type(value)}")
    return value


def _optional_object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{name!r} is not an object but {_json_type(value)}")
    return value


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationError("'tags' is not a list of strings")
    return tuple(value)


def _scorers(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError(f"'scorers' is not a list of scorer specs but {_json_type(value)}")
    return tuple(value)


def _case_id(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ValidationError("'id' is not a non-empty string")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
