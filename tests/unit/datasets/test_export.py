from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.datasets import (
    DatasetVersion,
    TestCase,
    content_hash,
    parse_csv,
    parse_jsonl,
    to_csv,
    to_jsonl,
)
from domain.errors import ValidationError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
names = st.text(min_size=1, max_size=8)
ids = st.text(string.ascii_letters + string.digits + "-_ .", min_size=1, max_size=12).filter(
    lambda s: s.strip() == s
)


@st.composite
def cases(draw: st.DrawFn) -> TestCase:
    variables = draw(st.dictionaries(names, json_values, max_size=4))
    expected = draw(st.none() | st.text() if variables else st.text())
    return TestCase(
        id=draw(st.just("") | ids),
        variables=variables,
        expected=expected,
        metadata=draw(st.dictionaries(names, json_values, max_size=2)),
        tags=tuple(draw(st.lists(st.text(min_size=1, max_size=6), max_size=3))),
    )


@given(st.lists(cases(), min_size=1, max_size=6, unique_by=lambda case: case.id))
def test_jsonl_round_trips_exactly(original: list[TestCase]) -> None:
    assert list(parse_jsonl(to_jsonl(original)).cases) == original


def sample() -> list[TestCase]:
    return [
        TestCase(
            id="a",
            variables={"question": 'say "hi",\nthen; bye', "lang": "ünïcode"},
            expected="hi",
            metadata={"source": "book"},
            tags=("easy", "greeting"),
        ),
        TestCase(variables={"question": "", "lang": "en"}, expected=None),
    ]


def test_csv_round_trips_text_cases() -> None:
    assert list(parse_csv(to_csv(sample())).cases) == sample()


def test_csv_header_lists_id_variables_expected_tags_metadata() -> None:
    assert to_csv(sample()).splitlines()[0] == "id,question,lang,expected,tags,metadata.source"


def test_csv_writes_non_text_values_as_json() -> None:
    case = TestCase(id="n", variables={"n": [1, 2]})

    assert parse_csv(to_csv([case])).cases[0].variables == {"n": "[1,2]"}


@pytest.mark.parametrize(
    "case",
    [
        TestCase(variables={"expected": "x"}),
        TestCase(variables={"metadata.a": "x"}),
        TestCase(variables={"q": "x"}, tags=("a;b",)),
    ],
)
def test_csv_refuses_cases_it_cannot_carry(case: TestCase) -> None:
    with pytest.raises(ValidationError) as caught:
        to_csv([case])

    assert caught.value.details["reason"] == "not-csv"


def test_jsonl_is_one_object_per_line() -> None:
    lines = to_jsonl(sample()).splitlines()

    case_id = sample()[1].id
    assert lines[1] == f'{{"id": "{case_id}", "vars": {{"question": "", "lang": "en"}}}}'
    assert len(lines) == 2


def test_version_hash_names_the_exact_cases() -> None:
    version = DatasetVersion("ds", 1, tuple(sample()))

    assert version.content_hash == content_hash(sample())
    assert len(version.content_hash) == 64
    assert version.next(reversed(sample())).content_hash != version.content_hash
    assert DatasetVersion("other", 3, tuple(sample())).content_hash == version.content_hash


def test_version_hash_survives_export_and_import() -> None:
    version = DatasetVersion("ds", 1, tuple(sample()))

    assert content_hash(parse_jsonl(to_jsonl(version.cases)).cases) == version.content_hash


def test_next_version_counts_up() -> None:
    version = DatasetVersion("ds", 1, tuple(sample()))

    assert (version.next(sample()).number, version.next(sample()).dataset_id) == (2, "ds")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("", 1), "bad-version"),
        (("ds", 0), "bad-version"),
        (("ds", True), "bad-version"),
    ],
)
def test_version_checks_its_fields(args: tuple[Any, ...], reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DatasetVersion(*args, tuple(sample()))

    assert caught.value.details["reason"] == reason


def test_version_refuses_no_cases_and_duplicate_ids() -> None:
    with pytest.raises(ValidationError, match="empty"):
        DatasetVersion("ds", 1, ())
    with pytest.raises(ValidationError, match="duplicate case ids: a"):
        DatasetVersion("ds", 1, (sample()[0], sample()[0]))


def test_case_copies_its_values_and_validates_them() -> None:
    variables = {"q": ("a", "b")}
    case = TestCase(variables=variables)

    assert case.variables == {"q": ["a", "b"]}
    assert case.variables is not variables
    with pytest.raises(ValidationError, match="finite"):
        TestCase(variables={"q": float("nan")})
    with pytest.raises(ValidationError, match="id must be"):
        TestCase(id=" a", variables={"q": 1})
    assert hash(case) == hash(TestCase(variables={"q": ["a", "b"]}))
