import math

import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, ScoreContext, ScorerSpec, build_scorer, perplexity

HALF = math.log(0.5)


def scorer(**args: object) -> PureScorer:
    built = build_scorer(ScorerSpec("perplexity", args))
    assert isinstance(built, PureScorer) and getattr(built, "wants_logprobs", False)
    return built


def test_perplexity_is_exp_of_the_negative_mean_logprob():
    assert perplexity((0.0, 0.0)) == 1.0
    assert perplexity((HALF, math.log(0.25))) == pytest.approx(2**1.5)


def test_within_the_ceiling_passes():
    score = scorer(max=2).score(ScoreContext(output="a b", logprobs=(HALF, HALF)))
    assert (score.value, score.passed) == (1.0, True)
    assert "perplexity 2.000 is within 2" in score.reason


def test_over_the_ceiling_fails_in_proportion():
    score = scorer(max=1.5).score(ScoreContext(output="a b", logprobs=(HALF, HALF)))
    assert score.value == pytest.approx(0.75) and not score.passed
    assert "over 1.5" in score.reason


@pytest.mark.parametrize("logprobs", [None, (), (0.5,), (math.nan,)])
def test_missing_or_impossible_logprobs_fail(logprobs):
    score = scorer(max=10).score(ScoreContext(output="a", logprobs=logprobs))
    assert score.value == 0.0 and not score.passed


@pytest.mark.parametrize("args", [{}, {"max": 0.5}, {"max": "2"}])
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValidationError):
        scorer(**args)
