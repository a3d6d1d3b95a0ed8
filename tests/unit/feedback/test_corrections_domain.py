from __future__ import annotations

from typing import Any

import pytest

from domain.datasets import TestCase
from domain.errors import ValidationError
from domain.feedback import PROVENANCE, Feedback, cases_from_corrections, with_cases
from domain.reports import ResultRecord


def cell(case_id: str, passed: bool | None = True, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {
        "run_id": "r",
        "prompt_version": "v1",
        "model": "m",
        "variables": {"q": case_id},
        "expected": f"old {case_id}",
    }
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def note(case_id: str, at: str = "2026-12-03T00:00:00", **fields: Any) -> Feedback:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return Feedback(case_id=case_id, author="ann", created_at=at, **(values | fields))


def test_a_correction_becomes_the_expected_output_with_its_provenance() -> None:
    (case,) = cases_from_corrections(
        [cell("c0"), cell("c1", model="m2", repeat=1)],
        [note("c1", model="m2", repeat=1, correction="Paris", at="2026-12-03T10:00:00")],
    )
    assert (case.id, case.variables, case.expected) == ("c1", {"q": "c1"}, "Paris")
    assert case.metadata[PROVENANCE] == {
        "run_id": "r",
        "prompt_version": "v1",
        "model": "m2",
        "case_id": "c1",
        "repeat": 1,
        "author": "ann",
        "feedback_at": "2026-12-03T10:00:00",
    }


def test_the_latest_correction_of_a_case_wins_across_its_cells() -> None:
    cells = [cell("c0"), cell("c0", repeat=1)]
    feedbacks = [
        note("c0", correction="mid", at="2026-12-03T10:00:00"),
        note("c0", repeat=1, correction="late", at="2026-12-03T11:00:00"),
        note("c0", correction="early", at="2026-12-03T09:00:00"),
        note("c0", comment="no correction", at="2026-12-03T12:00:00"),
    ]
    (case,) = cases_from_corrections(cells, feedbacks)
    assert case.expected == "late"
    assert case.metadata[PROVENANCE]["repeat"] == 1


def test_a_picked_failing_case_keeps_its_expected_output() -> None:
    cells = [cell("c0", passed=True), cell("c1", passed=False), cell("c2", passed=None, error="x")]
    cases = cases_from_corrections(
        cells, [note("c0", correction="fixed")], include_failed=["c2", "c1"], picked_by="bob"
    )
    assert [(c.id, c.expected) for c in cases] == [
        ("c0", "fixed"),
        ("c1", "old c1"),
        ("c2", "old c2"),
    ]
    provenance = cases[1].metadata[PROVENANCE]
    assert (provenance["author"], provenance["feedback_at"]) == ("bob", None)


def test_a_person_failing_a_cell_makes_it_pickable_and_passing_it_does_not() -> None:
    cells = [cell("c0", passed=True), cell("c1", passed=False)]
    feedbacks = [note("c0", verdict="fail"), note("c1", verdict="pass")]
    (case,) = cases_from_corrections(cells, feedbacks, include_failed=["c0"])
    assert case.id == "c0"
    with pytest.raises(ValidationError) as raised:
        cases_from_corrections(cells, feedbacks, include_failed=["c1"])
    assert raised.value.details["reason"] == "not-failed"


def test_an_unknown_picked_case_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        cases_from_corrections([cell("c0", passed=False)], [], include_failed=["nope"])
    assert raised.value.details["reason"] == "unknown-case"


@pytest.mark.parametrize(
    "feedbacks",
    [
        [],
        [note("c0", verdict="fail", comment="wrong")],
        [note("c0", run_id="other", correction="x")],
    ],
)
def test_nothing_to_add_is_a_clear_error(feedbacks: list[Feedback]) -> None:
    with pytest.raises(ValidationError) as raised:
        cases_from_corrections([cell("c0")], feedbacks)
    assert raised.value.details["reason"] == "nothing-to-add"


def test_with_cases_replaces_by_id_keeps_the_rest_and_appends_new_ones() -> None:
    base = [
        TestCase(id="c0", variables={"q": "a"}, expected="A"),
        TestCase(
            id="c1", variables={"q": "b"}, expected="B", tags=("hard",), metadata={"src": "x"}
        ),
    ]
    added = [
        TestCase(id="c2", variables={"q": "c"}, expected="C", metadata={PROVENANCE: {"n": 2}}),
        TestCase(id="c1", variables={"q": "b"}, expected="B!", metadata={PROVENANCE: {"n": 1}}),
    ]
    joined = with_cases(base, added)
    assert [(c.id, c.expected) for c in joined] == [("c0", "A"), ("c1", "B!"), ("c2", "C")]
    assert joined[1].tags == ("hard",)
    assert joined[1].metadata == {"src": "x", PROVENANCE: {"n": 1}}
    assert base[1].expected == "B"
