"""Choosing a page of a run's cells in the database: filters, key order and the cursor."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from api.pagination import decode_cursor, paginate
from api.routes_run_results import cell_out, key_cursor
from api.schemas import CellOut
from domain.datasets import TestCase
from domain.errors import NotFoundError, ValidationError
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from domain.reports import ResultRecord
from engine.evaluation.datasets import DatasetStore
from engine.evaluation.runs import CellFilters, RunStore, cell_key

V1, V2 = "a" * 64, "b" * 64
SPEC = RunSpec(
    prompt_id="p",
    prompt_versions=(V1, V2),
    models=("m1", "m2"),
    dataset_version_id="d",
    case_ids=("c1", "c2", "c3"),
    repeats=2,
)


def _row(case: str, version: str = V1, model: str = "m1", **fields: Any) -> dict[str, Any]:
    return {"prompt_version": version, "model": model, "case_id": case, "repeat": 0, **fields}


ROWS = [
    _row("c2", passed=True),
    _row("c1", V2, passed=False),
    _row("c1", passed=True, model="m2"),
    _row("c3", error="timeout: no answer"),
    _row("c1", repeat=1, passed=True),
]


@pytest.fixture
def store(migrated_db: Any) -> tuple[RunStore, str]:
    runs = RunStore(migrated_db)
    run = runs.create("alice", SPEC)
    assert runs.record([ResultRow(run_id=run.id, **row) for row in ROWS]) == len(ROWS)
    return runs, run.id


def _cells(store: tuple[RunStore, str], filters: CellFilters, **kw: Any) -> list[ResultRecord]:
    runs, run_id = store
    return runs.cells("alice", run_id, filters, **kw)


def test_cells_come_in_key_order_repeat_first(store: tuple[RunStore, str]) -> None:
    keys = [cell_key(c) for c in _cells(store, CellFilters())]
    assert len(keys) == len(ROWS)
    assert keys == sorted(keys) and keys[-1][0] == 1


@pytest.mark.parametrize(
    ("filters", "cases"),
    [
        (CellFilters(passed=True), ["c1", "c2", "c1"]),
        (CellFilters(passed=False), ["c1"]),
        (CellFilters(model="m2"), ["c1"]),
        (CellFilters(prompt_version="bbb"), ["c1"]),
        (CellFilters(prompt_version="b%"), []),  # a LIKE wildcard is a literal here
        (CellFilters(error=True), ["c3"]),
        (CellFilters(error=False, model="m1", prompt_version=V1), ["c2", "c1"]),
    ],
)
def test_every_given_filter_must_hold(
    store: tuple[RunStore, str], filters: CellFilters, cases: list[str]
) -> None:
    assert [c.case_id for c in _cells(store, filters)] == cases


def test_a_cursor_continues_after_the_last_cell_shown(store: tuple[RunStore, str]) -> None:
    first = paginate(
        _cells(store, CellFilters(), limit=3),
        2,
        lambda c: {"after": list(cell_key(c))},
        cell_out,
    )
    assert first.next_cursor is not None
    after = key_cursor(decode_cursor(first.next_cursor))
    rest = _cells(store, CellFilters(), after=after)
    shown = [(c.case_id, c.prompt_version, c.model, c.repeat) for c in first.items]
    assert len(shown) + len(rest) == len(ROWS)
    assert not {(c.case_id, c.prompt_version, c.model, c.repeat) for c in rest} & set(shown)


def test_someone_elses_run_has_no_cells(store: tuple[RunStore, str]) -> None:
    runs, run_id = store
    with pytest.raises(NotFoundError):
        runs.cells("bob", run_id)


@pytest.mark.parametrize(
    "position", [{}, {"after": "x"}, {"after": [0, "c", "v"]}, {"after": ["0", "c", "v", "m"]}]
)
def test_a_forged_cursor_is_refused(position: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="invalid cursor"):
        key_cursor(position)


def test_a_cell_is_shown_with_its_scores(store: tuple[RunStore, str]) -> None:
    runs, run_id = store
    runs.record([ResultRow(run_id=run_id, **_row("c9", passed=True, scores={"correct": 1.0}))])
    (cell,) = [c for c in _cells(store, CellFilters(), limit=10) if c.case_id == "c9"]
    shown = cell_out(cell)
    assert shown.scores == {"correct": 1.0} and shown.passed is True and shown.error is None


def test_a_failed_cell_shows_why_with_its_case(migrated_db: Any) -> None:
    datasets = DatasetStore(migrated_db)
    datasets.create("alice", "qa")
    case = TestCase(id="c1", variables={"question": "2+2?"}, expected="4")
    version = datasets.add_version("alice", "qa", [case])
    runs = RunStore(migrated_db)
    run = runs.create("alice", RunSpec("p", (V1,), ("m1",), version.id, ("c1",)))
    reasons = {"icontains": "'4' not found in the output"}
    failed = ResultRow(
        run_id=run.id, prompt_version=V1, model="m1", case_id="c1", output="five",
        passed=False, score=0.0, scores={"icontains": 0.0}, reasons=reasons,
        latency_ms=50.0, queue_ms=120.0,
    )  # fmt: skip
    runs.record([failed])
    (record,) = runs.results("alice", run.id)
    assert (record.reasons, record.variables, record.expected) == (reasons, case.variables, "4")
    assert (record.latency_ms, record.queue_ms) == (50.0, 120.0)
    (cell,) = runs.cells("alice", run.id, CellFilters(passed=False))
    shown = cell_out(cell)
    assert shown.reasons == reasons and shown.expected == "4"
    assert shown.variables == {"question": "2+2?"} and shown.queue_ms == 120.0


def test_the_cell_schema_has_every_field_of_a_result_record() -> None:
    assert list(CellOut.model_fields) == [f.name for f in fields(ResultRecord)]
