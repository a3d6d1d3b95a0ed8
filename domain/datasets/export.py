"""Export cases to JSONL or CSV, in forms the parsers read back.

JSONL round-trips exactly. CSV carries text only, so it round-trips exactly when every
variable and metadata value is a string (others are written as canonical JSON and come back
as that text), every case has the same variables, ``expected`` is never ``""`` and metadata
values are non-empty (empty cells read back as "none").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from domain.canonical import canonical_json
from domain.datasets.case import TestCase
from domain.datasets.csv_format import EXPECTED_COLUMNS, METADATA_PREFIX, TAG_SEPARATOR
from domain.errors import ValidationError


def to_jsonl(cases: Iterable[TestCase]) -> str:
    """One structured JSON object per line: ``id``, ``vars`` and, when set, ``expected``,
    ``metadata``, ``tags``, ``scorers``, ``threshold`` and ``messages``. Non-ASCII text is
    written as is (UTF-8)."""
    lines = []
    for case in cases:
        row: dict[str, Any] = {"id": case.id, "vars": case.variables}
        if case.expected is not None:
            row["expected"] = case.expected
        if case.metadata:
            row["metadata"] = case.metadata
        if case.tags:
            row["tags"] = list(case.tags)
        if case.scorers:
            row["scorers"] = [dict(spec) for spec in case.scorers]
        if case.threshold is not None:
            row["threshold"] = case.threshold
        if case.messages:
            row["messages"] = [dict(m) for m in case.messages]
        lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    return "".join(lines)


def to_csv(cases: Iterable[TestCase]) -> str:
    """A CSV with columns ``id``, the variables (first-seen order), ``expected``, ``tags``
    (when any case has tags) and ``metadata.<key>`` (when any case has that key).

    Raises:
        ValidationError: when CSV cannot carry a case: a variable named like a reserved
            column, a tag holding ``;`` or surrounding spaces, or a case with its own
            scorers, threshold or message history.
    """
    cases = list(cases)
    variables = _unique(name for case in cases for name in case.variables)
    metadata = _unique(key for case in cases for key in case.metadata)
    _check(variables, cases)
    with_tags = any(case.tags for case in cases)
    header = ["id", *variables, "expected"]
    header += ["tags"] if with_tags else []
    header += [METADATA_PREFIX + key for key in metadata]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for case in cases:
        row = [case.id, *(_cell(case.variables.get(name, "")) for name in variables)]
        row.append(case.expected or "")
        row += [TAG_SEPARATOR.join(case.tags)] if with_tags else []
        row += [_cell(case.metadata.get(key, "")) for key in metadata]
        writer.writerow(row)
    return buffer.getvalue()


def _check(variables: list[str], cases: list[TestCase]) -> None:
    for name in variables:
        if (
            name.strip() in (*EXPECTED_COLUMNS, "id", "tags")
            or name.strip().startswith(METADATA_PREFIX)
            or name != name.strip()
        ):
            raise ValidationError(
                f"variable {name!r} cannot be a CSV column; export JSONL instead",
                reason="not-csv",
            )
    for case in cases:
        if case.scorers or case.threshold is not None or case.messages:
            raise ValidationError(
                f"case {case.id!r} has its own scorers, threshold or messages, which CSV "
                "cannot carry; "
                "export JSONL instead",
                reason="not-csv",
            )
        for tag in case.tags:
            if TAG_SEPARATOR in tag or tag != tag.strip():
                raise ValidationError(
                    f"tag {tag!r} of case {case.id!r} cannot be written to CSV",
                    reason="not-csv",
                )


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
