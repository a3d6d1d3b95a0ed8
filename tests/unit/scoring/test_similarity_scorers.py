import pytest

from domain.errors import ValidationError
from domain.scoring import (
    PureScorer,
    Score,
    ScoreContext,
    ScorerSpec,
    build_scorer,
    levenshtein,
    levenshtein_ratio,
)


def score(type_: str, output: str, expected: str | None = None, **args: object) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output, expected=expected))


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2)],
)
def test_levenshtein_distance(a, b, distance):
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_levenshtein_ratio_of_empty_texts_is_one():
    assert levenshtein_ratio("", "") == 1.0


def test_levenshtein_scorer_passes_above_default_threshold():
    result = score("levenshtein", "colour", expected="color")
    assert result.value == pytest.approx(5 / 6) and result.passed
    assert result.reason == "levenshtein similarity 0.833 reaches threshold 0.8"


def test_levenshtein_scorer_fails_below_threshold():
    result = score("levenshtein", "kitten", expected="sitting")
    assert not result.passed and "is below threshold 0.8" in result.reason


def test_levenshtein_threshold_is_configurable():
    scorer = build_scorer(ScorerSpec("levenshtein", {"value": "sitting"}, threshold=0.5))
    assert isinstance(scorer, PureScorer)
    assert scorer.score(ScoreContext(output="kitten")).passed


def test_levenshtein_can_ignore_case():
    assert score("levenshtein", "HELLO", expected="hello", case_sensitive=False).value == 1.0


def test_similarity_uses_difflib_ratio():
    result = score("similarity", "abcd", expected="abce")
    assert result.value == pytest.approx(0.75) and not result.passed


def test_similarity_passes_on_identical_text():
    assert score("similarity", "same text", expected="same text").passed


def test_similarity_without_reference_fails():
    assert not score("similarity", "text").passed


def test_levenshtein_max_distance_decides_the_verdict_by_distance():
    at_limit = score("levenshtein", "kitten", expected="sitting", max_distance=3)
    assert at_limit.passed and at_limit.value == pytest.approx(4 / 7)
    assert at_limit.reason == "levenshtein distance 3 is within max_distance 3 (similarity 0.571)"
    over = score("levenshtein", "kitten", expected="sitting", max_distance=2)
    assert not over.passed and over.value == pytest.approx(4 / 7)
    assert over.reason == "levenshtein distance 3 exceeds max_distance 2 (similarity 0.571)"


def test_levenshtein_max_distance_zero_means_identical_after_normalising():
    assert score("levenshtein", " Paris ", expected="paris", max_distance=0, case_sensitive=False)
    assert not score("levenshtein", "Paris", expected="paris", max_distance=0).passed


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_levenshtein_max_distance_must_be_a_whole_number_at_least_zero(bad):
    with pytest.raises(ValidationError, match="'max_distance' must be"):
        build_scorer(ScorerSpec("levenshtein", {"value": "x", "max_distance": bad}))


def test_levenshtein_max_distance_and_threshold_do_not_mix():
    with pytest.raises(ValidationError, match="give it or threshold, not both"):
        build_scorer(ScorerSpec("levenshtein", {"max_distance": 2}, threshold=0.5))


def test_similarity_has_no_max_distance():
    with pytest.raises(ValidationError, match="unknown argument"):
        build_scorer(ScorerSpec("similarity", {"max_distance": 2}))
