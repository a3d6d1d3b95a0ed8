"""User-written patterns cannot stall an evaluator (JSON Schema ones: test_json_schema_safety)."""

import time

import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer

# stdlib `re` takes seconds on these and ~3x longer per added character.
EVIL = "^(a|aa)+$"
EVIL_TEXT = "a" * 34 + "!"
BOUND_S = 2.5  # the 0.2 s match timeout plus the `regex` package's coarse checking


def timed_score(type_: str, output: str, **args: object) -> tuple[Score, float]:
    scorer = build_scorer(ScorerSpec(type_, args))
    assert isinstance(scorer, PureScorer)
    started = time.monotonic()
    result = scorer.score(ScoreContext(output=output))
    return result, time.monotonic() - started


def test_a_backtracking_regex_fails_the_score_quickly_with_a_reason() -> None:
    result, took = timed_score("regex", EVIL_TEXT, pattern=EVIL)
    assert took < BOUND_S
    assert not result.passed and result.value == 0.0
    assert result.reason.startswith(f"regex {EVIL!r} gave up after 0.2 s on a 35-character text")


def test_the_reported_nested_quantifier_no_longer_holds_the_evaluator() -> None:
    result, took = timed_score("regex", "a" * 25 + "!", pattern="(a+)+$")
    assert took < BOUND_S and not result.passed


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("a" * 1001, "is 1001 characters long, over 1000"),
        ("(?:a{1000}){1000}", "expands to more than 10000 elements"),
        ("(?:(?:a{100}){100}){100}?", "expands to more than 10000 elements"),
    ],
)
def test_oversized_patterns_are_refused_before_compiling(pattern: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        build_scorer(ScorerSpec("regex", {"pattern": pattern}))
