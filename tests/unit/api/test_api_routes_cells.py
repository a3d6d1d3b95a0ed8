"""Choosing a page of a run's cells: filters, key order and the cursor."""

from __future__ import annotations

import pytest

from api.pagination import decode_cursor, paginate
from api.routes_run_results import CellFilters, cell_key, cell_out, key_cursor, select_cells
from domain.errors import ValidationError
from domain.reports import ResultRecord

V1, V2 = "a" * 64, "b" * 64


def _cell(case: str, version: str = V1, model: str = "m1", **fields: object) -> ResultRecord:
    return ResultRecord(run_id="r", prompt_version=version, model=model, case_id=case, **fields)  # type: ignore[arg-type]


CELLS = [
    _cell("c2", passed=True),
    _cell("c1", V2, passed=False),
    _cell("c1", passed=True, model="m2"),
    _cell("c3", error="timeout"),
    _cell("c1", repeat=1, passed=True),
]


def test_cells_come_in_key_order_repeat_first() -> None:
    keys = [cell_key(c) for c in select_cells(CELLS, CellFilters(), None, 10)]
    assert keys == sorted(keys) and keys[-1][0] == 1


@pytest.mark.parametrize(
    ("filters", "cases"),
    [
        (CellFilters(passed=True), ["c1", "c2", "c1"]),
        (CellFilters(passed=False), ["c1"]),
        (CellFilters(model="m2"), ["c1"]),
        (CellFilters(prompt_version="bbb"), ["c1"]),
        (CellFilters(error=True), ["c3"]),
        (CellFilters(error=False, model="m1", prompt_version=V1), ["c2", "c1"]),
    ],
)
def test_every_given_filter_must_hold(filters: CellFilters, cases: list[str]) -> None:
    assert [c.case_id for c in select_cells(CELLS, filters, None, 10)] == cases


def test_a_cursor_continues_after_the_last_cell_shown() -> None:
    first = paginate(
        select_cells(CELLS, CellFilters(), None, 3),
        2,
        lambda c: {"after": list(cell_key(c))},
        cell_out,
    )
    assert first.next_cursor is not None
    after = key_cursor(decode_cursor(first.next_cursor))
    rest = select_cells(CELLS, CellFilters(), after, 10)
    shown = [(c.case_id, c.prompt_version, c.model, c.repeat) for c in first.items]
    assert len(shown) + len(rest) == len(CELLS)
    assert not {(c.case_id, c.prompt_version, c.model, c.repeat) for c in rest} & set(shown)


@pytest.mark.parametrize(
    "position", [{}, {"after": "x"}, {"after": [0, "c", "v"]}, {"after": ["0", "c", "v", "m"]}]
)
def test_a_forged_cursor_is_refused(position: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="invalid cursor"):
        key_cursor(position)


def test_a_cell_is_shown_with_its_scores() -> None:
    shown = cell_out(_cell("c1", passed=True, scores={"correct": 1.0}))
    assert shown.scores == {"correct": 1.0} and shown.passed is True and shown.error is None
