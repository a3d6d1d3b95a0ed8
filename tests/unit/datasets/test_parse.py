from __future__ import annotations

import json

import pytest

from domain.datasets import TestCase, derive_case_id, parse_csv, parse_jsonl
from domain.errors import ValidationError


def jsonl(*rows: object) -> str:
    return "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n"


def test_structured_row_reads_every_field() -> None:
    text = jsonl(
        {
            "id": "q1",
            "vars": {"q": "2+2?"},
            "expected": "4",
            "metadata": {"src": "x"},
            "tags": ["m"],
        }
    )

    (case,) = parse_jsonl(text).cases

    assert case == TestCase(
        id="q1", variables={"q": "2+2?"}, expected="4", metadata={"src": "x"}, tags=("m",)
    )


def test_variables_is_an_alias_of_vars() -> None:
    (case,) = parse_jsonl(jsonl({"variables": {"q": "hi"}})).cases

    assert case.variables == {"q": "hi"}


def test_flat_row_takes_other_keys_as_variables() -> None:
    (case,) = parse_jsonl(jsonl({"question": "2+2?", "n": 2, "expected": "4"})).cases

    assert case.variables == {"question": "2+2?", "n": 2}
    assert case.expected == "4"


def test_derived_id_is_stable_and_short() -> None:
    (case,) = parse_jsonl(jsonl({"q": "hi"})).cases

    assert case.id == derive_case_id({"q": "hi"}, None)
    assert len(case.id) == 16
    assert parse_jsonl(jsonl({"q": "hi"})).cases[0].id == case.id


def test_numeric_id_is_taken_as_text() -> None:
    assert parse_jsonl(jsonl({"id": 7, "vars": {"q": "a"}})).cases[0].id == "7"


def test_blank_lines_and_bom_are_ignored() -> None:
    text = "\ufeff" + jsonl({"q": "a"}, "", "   ", {"q": "b"})

    assert [c.variables["q"] for c in parse_jsonl(text).cases] == ["a", "b"]


def test_line_separator_inside_a_string_does_not_split_the_row() -> None:
    text = json.dumps({"q": "a\u2028b\x85c"}, ensure_ascii=False)

    assert parse_jsonl(text).cases[0].variables["q"] == "a\u2028b\x85c"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{bad", "invalid JSON"),
        ('{"q": NaN}', "invalid JSON (NaN is not allowed)"),
        ("[1, 2]", "row is not an object but an array"),
        ('{"vars": [1]}', "'vars' is not an object but an array"),
        ('{"vars": {}}', "case has no variables and no expected"),
        ("{}", "case has no variables and no expected"),
        ('{"vars": {"q": 1}, "extra": 1}', "unknown keys 'extra'"),
        ('{"vars": {"q": 1}, "variables": {}}', "both 'vars' and 'variables'"),
        ('{"q": 1, "expected": 4}', "'expected' is not a string but a number"),
        ('{"q": 1, "tags": "a"}', "'tags' is not a list of strings"),
        ('{"q": 1, "metadata": []}', "'metadata' is not an object but an array"),
        ('{"q": 1, "id": ""}', "'id' is not a non-empty string"),
    ],
)
def test_bad_rows_are_named_with_their_line(row: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_jsonl(jsonl({"q": "fine"}, row))

    assert caught.value.details["errors"][0]["line"] == 2
    assert message in caught.value.details["errors"][0]["message"]
    assert caught.value.message.startswith("1 bad row in dataset: line 2: ")


def test_all_bad_rows_are_reported_and_nothing_imported() -> None:
    text = jsonl({"q": "a"}, "{bad", {"q": "b"}, "", "[]", {"q": "a"})

    with pytest.raises(ValidationError) as caught:
        parse_jsonl(text)

    assert caught.value.details["reason"] == "bad-rows"
    assert [e["line"] for e in caught.value.details["errors"]] == [2, 5, 6]
    assert caught.value.message.startswith("3 bad rows in dataset: line 2: invalid JSON (")
    assert "line 6: duplicate case: same variables and expected as line 1" in caught.value.message


def test_duplicate_given_id_names_the_first_line() -> None:
    text = jsonl({"id": "x", "vars": {"q": "a"}}, {"id": "x", "vars": {"q": "b"}})

    result = parse_jsonl(text, skip_bad=True)

    assert result.errors[0].message == "duplicate id 'x' (first on line 1)"


def test_skip_bad_returns_good_cases_and_errors() -> None:
    result = parse_jsonl(jsonl({"q": "a"}, "{bad", {"q": "b"}), skip_bad=True)

    assert [c.variables["q"] for c in result.cases] == ["a", "b"]
    assert [(e.line, e.message[:12]) for e in result.errors] == [(2, "invalid JSON")]


def test_value_over_the_limit_is_a_row_error() -> None:
    text = jsonl({"q": "x" * 101}, {"q": "ok"})

    result = parse_jsonl(text, skip_bad=True, max_value_bytes=100)

    assert result.errors[0].line == 1
    assert "variable 'q' is too long (101 bytes; the limit is 100)" in result.errors[0].message


def test_default_value_limit_is_100_kib() -> None:
    with pytest.raises(ValidationError, match="too long"):
        parse_jsonl(jsonl({"q": "x" * (100 * 1024 + 1)}))


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_empty_dataset_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="dataset is empty"):
        parse_jsonl(text)


def test_all_rows_bad_with_skip_is_empty() -> None:
    with pytest.raises(ValidationError, match="dataset is empty") as caught:
        parse_jsonl("{bad\n", skip_bad=True)

    assert caught.value.details["reason"] == "empty"
    assert [error["line"] for error in caught.value.details["errors"]] == [1]


def test_too_many_rows_is_refused_even_when_skipping() -> None:
    with pytest.raises(ValidationError, match="more than 2 rows") as caught:
        parse_jsonl(jsonl({"q": 1}, {"q": 2}, {"q": 3}), max_rows=2, skip_bad=True)

    assert caught.value.details["reason"] == "too-many-rows"


def test_long_error_lists_are_cut_in_the_message_but_kept_in_details() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_jsonl("[]\n" * 25)

    assert caught.value.message.endswith("; and 15 more")
    assert len(caught.value.details["errors"]) == 25


def test_csv_columns_map_to_case_fields() -> None:
    text = "id,question,expected,tags,metadata.source\nq1,2+2?,4, math ; easy ;,book\n"

    (case,) = parse_csv(text).cases

    assert case == TestCase(
        id="q1",
        variables={"question": "2+2?"},
        expected="4",
        metadata={"source": "book"},
        tags=("math", "easy"),
    )


def test_csv_expected_alias_and_empty_cells() -> None:
    (case,) = parse_csv("question,__expected,id,metadata.x\n,4,,\n").cases

    assert case.variables == {"question": ""}
    assert case.expected == "4"
    assert case.metadata == {}
    assert case.id == derive_case_id({"question": ""}, "4")


def test_csv_bom_and_crlf_and_spaced_header() -> None:
    text = "\ufeff question , expected\r\nhi,there\r\n"

    (case,) = parse_csv(text).cases

    assert case.variables == {"question": "hi"}
    assert case.expected == "there"


def test_csv_quoted_newlines_keep_the_record_and_its_starting_line() -> None:
    text = 'q,expected\n"line one\nline two",a\n"x\n\ny",b\nbad\n'

    result = parse_csv(text, skip_bad=True)

    assert [c.variables["q"] for c in result.cases] == ["line one\nline two", "x\n\ny"]
    assert result.errors[0].line == 7
    assert result.errors[0].message == "expected 2 columns, got 1"


def test_csv_blank_and_all_empty_records_are_skipped() -> None:
    result = parse_csv("q,expected\n\n,\nhi,\n")

    assert [c.variables for c in result.cases] == [{"q": "hi"}]


def test_csv_line_numbers_count_physical_lines() -> None:
    text = 'q\n"a\nb"\n\nc,d\n'

    with pytest.raises(ValidationError) as caught:
        parse_csv(text)

    assert caught.value.details["errors"] == [{"line": 5, "message": "expected 1 columns, got 2"}]


def test_csv_oversized_field_is_a_row_error() -> None:
    text = 'q\n"' + "x" * 200_000 + '"\nok\n'

    result = parse_csv(text, skip_bad=True)

    assert [c.variables["q"] for c in result.cases] == ["ok"]
    assert result.errors[0].line == 2


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("q,q", "duplicate columns"),
        ("q,,x", "column 2 of the header has no name"),
        ("q,expected,__expected", "both 'expected' and '__expected'"),
        ("q,metadata.", "column 2 of the header has no name"),
    ],
)
def test_csv_bad_header_is_refused(header: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_csv(header + "\n1,2,3\n")

    assert caught.value.details["reason"] == "bad-header"


def test_csv_header_only_is_empty() -> None:
    with pytest.raises(ValidationError, match="dataset is empty"):
        parse_csv("q,expected\n")


def test_csv_duplicate_ids_are_row_errors() -> None:
    with pytest.raises(ValidationError, match="line 3: duplicate id 'a' \\(first on line 2\\)"):
        parse_csv("id,q\na,1\na,2\n")
