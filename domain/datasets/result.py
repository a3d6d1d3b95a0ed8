"""What a parse returns, and the collector that decides between cases and row errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.datasets._canonical import encoded_size
from domain.datasets.case import TestCase
from domain.errors import ValidationError

DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_VALUE_BYTES = 100 * 1024
_ERRORS_IN_MESSAGE = 10


@dataclass(frozen=True)
class RowError:
    """A row that could not be imported.

    Attributes:
        line: The 1-based physical line where the row starts.
        message: What is wrong with it.
    """

    line: int
    message: str


@dataclass(frozen=True)
class ParseResult:
    """The cases of a dataset, in file order, and the rows that were skipped."""

    cases: tuple[TestCase, ...]
    errors: tuple[RowError, ...] = ()


class RowCollector:
    """Gathers cases and row errors, enforcing row count, value size and unique ids."""

    def __init__(self, *, max_rows: int, max_value_bytes: int) -> None:
        self._max_rows = max_rows
        self._max_value_bytes = max_value_bytes
        self._rows = 0
        self._cases: list[TestCase] = []
        self._errors: list[RowError] = []
        self._first_line: dict[str, int] = {}

    def row(self, line: int, build: Callable[[], tuple[TestCase, bool]]) -> None:
        """Count one data row starting at ``line``; ``build`` returns the case and whether
        its id was given. A ``ValidationError`` from ``build`` becomes a row error."""
        self._rows += 1
        if self._rows > self._max_rows:
            raise ValidationError(
                f"dataset has more than {self._max_rows:,} rows",
                reason="too-many-rows",
                max_rows=self._max_rows,
            )
        try:
            case, id_given = build()
        except ValidationError as exc:
            self.error(line, exc.message)
            return
        problem = self._too_long(case) or self._duplicate(case, id_given)
        if problem:
            self.error(line, problem)
            return
        self._first_line[case.id] = line
        self._cases.append(case)

    def error(self, line: int, message: str) -> None:
        """Record a bad row."""
        self._errors.append(RowError(line, message))

    def finish(self, *, skip_bad: bool) -> ParseResult:
        """The result, or ``ValidationError`` for bad rows (unless skipped) or no cases."""
        details = [{"line": e.line, "message": e.message} for e in self._errors]
        if self._errors and not skip_bad:
            raise ValidationError(_summary(self._errors), reason="bad-rows", errors=details)
        if not self._cases:
            raise ValidationError("dataset is empty", reason="empty", errors=details)
        return ParseResult(tuple(self._cases), tuple(self._errors))

    def _too_long(self, case: TestCase) -> str | None:
        values = [(f"variable {name!r}", v) for name, v in case.variables.items()]
        values += [("expected", case.expected)] if case.expected is not None else []
        values += [(f"metadata {name!r}", v) for name, v in case.metadata.items()]
        for what, value in values:
            size = encoded_size(value)
            if size > self._max_value_bytes:
                return (
                    f"{what} is too long ({size:,} bytes; the limit is {self._max_value_bytes:,})"
                )
        return None

    def _duplicate(self, case: TestCase, id_given: bool) -> str | None:
        first = self._first_line.get(case.id)
        if first is None:
            return None
        if id_given:
            return f"duplicate id {case.id!r} (first on line {first})"
        return f"duplicate case: same variables and expected as line {first}"


def _summary(errors: list[RowError]) -> str:
    count = len(errors)
    shown = "; ".join(f"line {e.line}: {e.message}" for e in errors[:_ERRORS_IN_MESSAGE])
    more = f"; and {count - _ERRORS_IN_MESSAGE} more" if count > _ERRORS_IN_MESSAGE else ""
    return f"{count} bad row{'' if count == 1 else 's'} in dataset: {shown}{more}"
