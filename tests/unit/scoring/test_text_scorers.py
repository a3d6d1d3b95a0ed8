import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer


def score(type_: str, output: str, expected: str | None = None, **args: object) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output, expected=expected))


def test_equals_passes_on_expected_ignoring_surrounding_space():
    result = score("equals", "  Paris\n", expected="Paris")
    assert (result.value, result.passed, result.name) == (1.0, True, "equals")


def test_equals_fails_with_both_texts_in_reason():
    result = score("equals", "Lyon", expected="Paris")
    assert not result.passed and result.value == 0.0
    assert result.reason == "expected 'Paris', got 'Lyon'"


def test_equals_prefers_value_argument():
    assert score("equals", "yes", expected="no", value="yes").passed


def test_equals_is_case_sensitive_by_default():
    assert not score("equals", "paris", expected="Paris").passed


def test_equals_can_ignore_case():
    assert score("equals", "paris", expected="Paris", case_sensitive=False).passed


def test_equals_without_strip_sees_whitespace():
    assert not score("equals", "Paris ", expected="Paris", strip=False).passed


def test_equals_without_reference_fails_with_reason():
    result = score("equals", "x")
    assert not result.passed and "no 'value' argument and no expected answer" in result.reason


def test_contains_passes():
    assert score("contains", "The capital is Paris.", value="Paris").passed


def test_contains_fails_with_reason():
    result = score("contains", "The capital is Lyon.", value="Paris")
    assert not result.passed and result.reason == "output does not contain 'Paris'"


def test_contains_rejects_empty_value():
    with pytest.raises(ValidationError, match="must not be empty"):
        build_scorer(ScorerSpec("contains", {"value": ""}))


def test_icontains_ignores_case():
    assert score("icontains", "PARIS!", expected="paris").passed


def test_icontains_refuses_case_sensitive_argument():
    with pytest.raises(ValidationError, match="unknown argument"):
        build_scorer(ScorerSpec("icontains", {"value": "a", "case_sensitive": True}))


def test_contains_any_passes_on_one():
    result = score("contains-any", "a blue sky", values=["red", "blue"])
    assert result.passed and result.reason == "output contains 'blue'"


def test_contains_any_fails_on_none():
    result = score("contains-any", "a grey sky", values=["red", "blue"])
    assert not result.passed and "none of ['red', 'blue']" in result.reason


def test_contains_all_gives_fraction_and_fails_when_one_is_missing():
    result = score("contains-all", "red and blue", values=["red", "blue", "green", "pink"])
    assert (result.value, result.passed) == (0.5, False)
    assert "['green', 'pink']" in result.reason


def test_contains_all_passes_when_all_are_present():
    assert score("contains-all", "Red, Blue", values=["red", "blue"], case_sensitive=False).passed


def test_contains_many_rejects_empty_list():
    with pytest.raises(ValidationError, match="non-empty list of strings"):
        build_scorer(ScorerSpec("contains-all", {"values": []}))


def test_starts_with_ignores_leading_whitespace():
    assert score("starts-with", "\n  Yes, indeed", value="Yes").passed


def test_starts_with_fails_with_reason():
    result = score("starts-with", "No.", value="Yes")
    assert not result.passed and result.reason.startswith("output does not start with 'Yes'")


def test_regex_searches_anywhere():
    result = score("regex", "order #1234 shipped", pattern=r"#\d+")
    assert result.passed and result.reason == r"/#\d+/ matched '#1234'"


def test_regex_fails_with_reason():
    result = score("regex", "no digits", pattern=r"\d")
    assert not result.passed and "did not match" in result.reason


def test_regex_flags_apply():
    assert score("regex", "Line one\nYES", pattern="^yes$", flags="im").passed


def test_invalid_regex_names_pattern_and_error():
    with pytest.raises(ValidationError, match=r"valid regex '\(ab': missing \)"):
        build_scorer(ScorerSpec("regex", {"pattern": "(ab"}))


def test_unknown_regex_flag_is_rejected():
    with pytest.raises(ValidationError, match="unknown flag 'q'"):
        build_scorer(ScorerSpec("regex", {"pattern": "a", "flags": "iq"}))
