"""A case's own assertions: validated at creation, kept through JSONL, refused by CSV."""

from __future__ import annotations

import pytest

from domain.datasets import TestCase, parse_csv, parse_jsonl, to_csv, to_jsonl
from domain.errors import ValidationError


def _case(**fields: object) -> TestCase:
    return TestCase(variables={"q": "capital of France?"}, expected="Paris", **fields)  # type: ignore[arg-type]


def test_a_case_without_assertions_keeps_its_id_and_dict() -> None:
    plain = _case()
    assert "scorers" not in plain.to_dict() and "threshold" not in plain.to_dict()
    # The id of the same row before per-case assertions existed (derive_case_id unchanged).
    assert plain.id == TestCase(variables={"q": "capital of France?"}, expected="Paris").id


def test_scorers_are_normalised_spec_dicts_and_change_the_derived_id() -> None:
    case = _case(scorers=[{"type": "icontains", "args": {"value": "paris"}}], threshold=0.5)
    assert case.scorers == (
        {
            "type": "icontains",
            "args": {"value": "paris"},
            "weight": 1.0,
            "threshold": None,
            "name": "icontains",
        },
    )
    assert case.threshold == 0.5
    assert case.id != _case().id
    assert case.id != _case(scorers=[{"type": "icontains", "args": {"value": "lyon"}}]).id


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"scorers": [{"type": "no-such"}]}, "unknown scorer"),
        ({"scorers": [{"type": "regex", "args": {}}]}, "pattern"),
        ({"scorers": {"type": "equals"}}, "list of scorer specs"),
        ({"scorers": [{"type": "equals"}, {"type": "equals"}]}, "two scorers are named"),
        ({"threshold": 1.5}, r"within \[0, 1\]"),
        ({"threshold": True}, r"within \[0, 1\]"),
        ({"threshold": "0.5"}, r"within \[0, 1\]"),
    ],
)
def test_bad_case_assertions_are_refused_with_reason_bad_case(
    fields: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment) as caught:
        _case(**fields)
    assert caught.value.details["reason"] == "bad-case"


def test_jsonl_round_trips_case_assertions_and_csv_refuses_them() -> None:
    text = (
        '{"id": "a", "vars": {"q": "hi"}, "scorers": [{"type": "contains", "args": '
        '{"value": "hello"}, "negate": true}], "threshold": 0.25}\n'
        '{"q": "flat row", "expected": "x", "scorers": [{"type": "equals"}]}\n'
    )
    cases = parse_jsonl(text).cases
    assert cases[0].scorers[0]["negate"] is True and cases[0].scorers[0]["name"] == "not-contains"
    assert cases[0].threshold == 0.25
    assert cases[1].variables == {"q": "flat row"}  # reserved keys are not variables
    assert parse_jsonl(to_jsonl(cases)).cases == cases
    with pytest.raises(ValidationError) as caught:
        to_csv(cases)
    assert caught.value.details["reason"] == "not-csv"
    plain = parse_csv("q,expected\nhi,hello\n").cases
    assert parse_csv(to_csv(plain)).cases == plain


def test_a_jsonl_row_with_a_bad_scorer_names_the_line() -> None:
    text = '{"q": "ok"}\n{"q": "bad", "scorers": [{"type": "nope"}]}\n'
    with pytest.raises(ValidationError, match="line 2") as caught:
        parse_jsonl(text)
    assert caught.value.details["reason"] == "bad-rows"
    assert len(parse_jsonl(text, skip_bad=True).cases) == 1
