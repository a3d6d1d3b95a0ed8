"""CSV datasets: a header row, then one case per record.

Columns: ``expected`` (alias ``__expected``, promptfoo's name), ``id``, ``tags``
(``;``-separated), ``metadata.<key>`` (into metadata) and every other column a variable.
Header names are stripped of surrounding spaces; a leading BOM is ignored. Cells are text:
an empty ``expected``, ``id`` or ``metadata.*`` cell means "none"; an empty variable cell is
the empty string. Records whose cells are all blank (as spreadsheets export) are skipped.

Line numbers are physical: a record with quoted newlines is reported at the line where it
starts, so an editor's "go to line" lands on it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from functools import partial

from domain.datasets.case import TestCase
from domain.datasets.result import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_VALUE_BYTES,
    ParseResult,
    RowCollector,
)
from domain.errors import ValidationError

EXPECTED_COLUMNS = ("expected", "__expected")
METADATA_PREFIX = "metadata."
TAG_SEPARATOR = ";"


def parse_csv(
    text: str,
    *,
    skip_bad: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
) -> ParseResult:
    """Parse a CSV dataset with a header row.

    Args:
        text: The file's text.
        skip_bad: Return the good cases and the row errors instead of raising.
        max_rows: The most data records accepted.
        max_value_bytes: The most UTF-8 bytes one cell may take.

    Returns:
        The cases in file order and, when ``skip_bad``, the skipped records.

    Raises:
        ValidationError: ``reason="bad-header"`` for an unusable header, ``"bad-rows"``
            naming each bad record by line, ``"empty"`` when no case remains,
            ``"too-many-rows"``.

    Examples:
        >>> parse_csv("question,expected\\n2+2?,4\\n").cases[0].expected
        '4'
    """
    collector = RowCollector(max_rows=max_rows, max_value_bytes=max_value_bytes)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header: _Header | None = None
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = reader.line_num
            collector.row(start, partial(_unreadable, str(exc)))
            continue
        end = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = _Header.parse(record, start)
        else:
            collector.row(start, partial(header.case, record))
    return collector.finish(skip_bad=skip_bad)


@dataclass(frozen=True)
class _Header:
    names: tuple[str, ...]

    @classmethod
    def parse(cls, record: list[str], line: int) -> _Header:
        names = tuple(cell.strip() for cell in record)
        problem = _header_problem(names)
        if problem:
            raise ValidationError(f"line {line}: {problem}", reason="bad-header", line=line)
        return cls(names)

    def case(self, record: list[str]) -> tuple[TestCase, bool]:
        if len(record) != len(self.names):
            raise ValidationError(f"expected {len(self.names)} columns, got {len(record)}")
        variables: dict[str, str] = {}
        metadata: dict[str, str] = {}
        expected: str | None = None
        case_id = ""
        tags: tuple[str, ...] = ()
        for name, cell in zip(self.names, record, strict=True):
            if name in EXPECTED_COLUMNS:
                expected = cell or None
            elif name == "id":
                case_id = cell.strip()
            elif name == "tags":
                tags = tuple(t.strip() for t in cell.split(TAG_SEPARATOR) if t.strip())
            elif name.startswith(METADATA_PREFIX):
                if cell:
                    metadata[name.removeprefix(METADATA_PREFIX)] = cell
            else:
                variables[name] = cell
        case = TestCase(
            id=case_id, variables=variables, expected=expected, metadata=metadata, tags=tags
        )
        return case, bool(case_id)


def _header_problem(names: tuple[str, ...]) -> str | None:
    for index, name in enumerate(names, start=1):
        if not name or name == METADATA_PREFIX:
            return f"column {index} of the header has no name"
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        return f"duplicate columns in the header: {', '.join(map(repr, duplicates))}"
    if sum(name in EXPECTED_COLUMNS for name in names) > 1:
        return "the header has both 'expected' and '__expected'"
    return None


def _unreadable(message: str) -> tuple[TestCase, bool]:
    raise ValidationError(f"unreadable CSV ({message})")
