"""A run's cells as cases: each case (and repeat) with every version's and model's cell side
by side, the filters of the case list, and pages of it.

Pure functions over `ResultRecord`s (the SDK's `Run.records()`, people's overrides applied),
plus a small cache so paging through a 10,000-cell run reads it once, not once per page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.reports import ResultRecord

Group = tuple[str, str]
"""A prompt version and a model: one column of the matrix."""
Show = Literal["all", "failed", "errors", "regressed", "improved", "disagreement"]
SHOWS: tuple[Show, ...] = ("all", "failed", "errors", "regressed", "improved", "disagreement")
PAGE_SIZE = 50
SELECTIONS_KEPT = 8


@dataclass(frozen=True)
class Case:
    """One case (and repeat) of a run with its cells by group."""

    case_id: str
    repeat: int
    variables: dict[str, Any]
    expected: str | None
    cells: dict[Group, ResultRecord]
    text: str = field(repr=False)

    def verdicts(self, groups: Sequence[Group]) -> list[bool | None]:
        """The effective verdict of each group's cell (an errored cell fails)."""
        return [_verdict(self.cells.get(group)) for group in groups]


@dataclass(frozen=True)
class CaseIndex:
    """Every case of a run, in the order the run records them (repeat, case)."""

    groups: tuple[Group, ...]
    cases: tuple[Case, ...]
    _selected: OrderedDict[tuple[str, str], list[Case]] = field(
        default_factory=OrderedDict, compare=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def select(self, show: Show, query: str = "") -> list[Case]:
        """The cases the filter keeps (``query``: case-insensitive text anywhere).

        The last few selections are kept: the virtual list asks for a window of the same
        selection each time it scrolls (a filter over 10,000 cases: ~20-40 ms here)."""
        needle = query.strip().lower()
        key = (show, needle)
        found = self._selected.get(key)
        if found is None:
            found = [
                case
                for case in self.cases
                if _shows(case, show, self.groups) and (not needle or needle in case.text)
            ]
            with self._lock:
                self._selected[key] = found
                while len(self._selected) > SELECTIONS_KEPT:
                    self._selected.popitem(last=False)
        return found


MAX_WINDOW = 200
"""Most cases one request of the virtual list renders."""


@dataclass(frozen=True)
class CasePage:
    """A window of the filtered case list: ``cases`` from index ``start`` of ``matching``
    (``number`` and ``pages``: the page of `PAGE_SIZE` it starts in, for the pager shown
    without JavaScript)."""

    cases: list[Case]
    number: int
    pages: int
    matching: int
    start: int = 0


def index_cases(records: Iterable[ResultRecord], order: Sequence[Group] = ()) -> CaseIndex:
    """Group cells by case and repeat. The groups follow ``order`` (the run's versions ×
    models: the first is the baseline of `regressed` and `improved`), then any other group
    in first-seen order; a group of ``order`` without cells is left out."""
    groups: dict[Group, None] = {}
    by_case: dict[tuple[int, str], list[ResultRecord]] = {}
    for record in records:
        groups.setdefault((record.prompt_version, record.model), None)
        by_case.setdefault((record.repeat, record.case_id), []).append(record)
    cases = tuple(_case(cells) for _, cells in sorted(by_case.items(), key=lambda kv: kv[0]))
    ordered = [group for group in order if group in groups]
    ordered += [group for group in groups if group not in ordered]
    return CaseIndex(tuple(ordered), cases)


def page_of(cases: Sequence[Case], number: int, size: int = PAGE_SIZE) -> CasePage:
    """Page ``number`` (from 1, clamped to the last) of ``cases``."""
    pages = max(1, -(-len(cases) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return CasePage(list(cases[start : start + size]), number, pages, len(cases), start)


def window_of(cases: Sequence[Case], start: int, count: int) -> CasePage:
    """The ``count`` cases (at most `MAX_WINDOW`) from index ``start`` (clamped so the
    window ends at the last case when it can) of ``cases``: what the virtual list shows."""
    count = max(1, min(count, MAX_WINDOW))
    start = max(0, min(start, len(cases) - count))
    pages = max(1, -(-len(cases) // PAGE_SIZE))
    window = list(cases[start : start + count])
    return CasePage(window, start // PAGE_SIZE + 1, pages, len(cases), start)


def _case(cells: list[ResultRecord]) -> Case:
    first = cells[0]
    parts = [first.case_id, first.expected or ""]
    parts += [f"{name}: {value}" for name, value in first.variables.items()]
    parts += [cell.output or "" for cell in cells] + [cell.error or "" for cell in cells]
    parts += [reason for cell in cells for reason in cell.reasons.values()]
    return Case(
        case_id=first.case_id,
        repeat=first.repeat,
        variables=dict(first.variables),
        expected=first.expected,
        cells={(cell.prompt_version, cell.model): cell for cell in cells},
        text="\n".join(parts).lower(),
    )


def _verdict(cell: ResultRecord | None) -> bool | None:
    if cell is None:
        return None
    if cell.errored:
        return False
    return cell.effective_passed


def _shows(case: Case, show: Show, groups: Sequence[Group]) -> bool:
    if show == "all":
        return True
    if show == "errors":
        return any(cell.errored for cell in case.cells.values())
    verdicts = case.verdicts(groups)
    if show == "failed":
        return False in verdicts
    graded = [v for v in verdicts if v is not None]
    if show == "disagreement":
        return len(set(graded)) > 1
    baseline = verdicts[0] if verdicts else None
    others = [v for v in verdicts[1:] if v is not None]
    if show == "regressed":
        return baseline is True and False in others
    return baseline is False and True in others  # improved


class IndexCache:
    """The last runs' reads and indexes, keyed by what would change them (cells recorded and
    feedback given), so a page of a finished run costs a slice, not a read. Bounded by the
    cells they hold (``max_cells``) and by entries (``size``); the oldest go first."""

    def __init__(self, size: int = 64, max_cells: int = 200_000) -> None:
        self._size = size
        self._max_cells = max_cells
        self._items: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._cells = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: tuple[Any, ...], value: Any, cells: int = 1) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._cells -= 0 if old is None else old[1]
            self._items[key] = (value, cells)
            self._cells += cells
            while len(self._items) > 1 and (
                len(self._items) > self._size or self._cells > self._max_cells
            ):
                _, (_, dropped) = self._items.popitem(last=False)
                self._cells -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._cells = 0
