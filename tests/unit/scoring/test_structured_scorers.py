import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer, first_number

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}


def score(type_: str, output: str, expected: str | None = None, **args: object) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output, expected=expected))


def test_is_json_passes_on_json():
    assert score("is-json", ' {"a": [1, 2]} ').passed


def test_is_json_fails_with_parser_error():
    result = score("is-json", "{'a': 1}")
    assert not result.passed and result.reason.startswith("output is not valid JSON: Expecting")


def test_is_json_rejects_nan():
    assert not score("is-json", "NaN").passed


def test_is_json_does_not_look_inside_chatter_by_default():
    assert not score("is-json", 'Sure! Here it is: {"a": 1}').passed


def test_is_json_extract_finds_fenced_json():
    assert score("is-json", 'Here:\n```json\n{"a": 1}\n```', extract=True).passed


@pytest.mark.parametrize("extract", [False, True])
def test_json_nested_past_the_decoders_depth_fails_instead_of_raising(extract):
    result = score("is-json", "see: " * extract + "[" * 5000 + "]" * 5000, extract=extract)
    assert result.reason == "output is not valid JSON: the JSON nests too deeply to parse"


def test_json_schema_passes_on_conforming_output():
    result = score("json-schema", '{"name": "Ada", "age": 36}', schema=SCHEMA)
    assert result.passed and result.reason == "output matches the schema"


def test_json_schema_fails_naming_path_and_problem():
    result = score("json-schema", '{"name": "Ada", "age": "old"}', schema=SCHEMA)
    assert not result.passed
    expected = "output does not match the schema at $.age: 'old' is not of type 'integer'"
    assert result.reason == expected


def test_json_schema_fails_on_non_json():
    assert "not valid JSON" in score("json-schema", "nope", schema=SCHEMA).reason


def test_invalid_schema_is_rejected_at_build():
    with pytest.raises(ValidationError, match="not a valid JSON Schema at type"):
        build_scorer(ScorerSpec("json-schema", {"schema": {"type": "strnig"}}))


def test_non_object_schema_is_rejected():
    with pytest.raises(ValidationError, match="must be a JSON Schema object"):
        build_scorer(ScorerSpec("json-schema", {"schema": "string"}))


def test_numeric_extracts_first_number_from_chatter():
    result = score("numeric", "Sure! The answer is 42.", expected="42")
    assert result.passed and result.reason == "42 is within tolerance of 42"


def test_numeric_fails_with_gap():
    result = score("numeric", "The answer is 41", value=42)
    assert not result.passed and result.reason == "41 differs from 42 by 1"


def test_numeric_absolute_tolerance():
    assert score("numeric", "3.14", value=3.14159, tolerance=0.01).passed


def test_numeric_relative_tolerance():
    assert score("numeric", "1,010", value=1000, rel_tolerance=0.02).passed


def test_numeric_fails_without_number_in_output():
    result = score("numeric", "forty-two", value=42)
    assert not result.passed and result.reason.startswith("output holds no number")


def test_numeric_fails_without_number_in_expected():
    assert "holds no number" in score("numeric", "42", expected="many").reason


def test_numeric_rejects_negative_tolerance():
    with pytest.raises(ValidationError, match="'tolerance' must be >= 0"):
        build_scorer(ScorerSpec("numeric", {"tolerance": -1}))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("-3 degrees", -3.0),
        ("$1,234.50", 1234.5),
        ("ratio .5", 0.5),
        ("2e3 items", 2000.0),
        ("COVID-19", 19.0),
        ("v1.2", 1.2),
        ("none", None),
    ],
)
def test_first_number(text, number):
    assert first_number(text) == number
