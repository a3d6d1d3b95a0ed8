import pytest

from domain.errors import ValidationError
from domain.scoring import (
    DEFAULT_MODERATION_MODEL,
    ModerationScorer,
    ScoreContext,
    ScorerSpec,
    build_scorer,
)

CLEAN = {"harassment": False, "violence": False, "self-harm": False}
SCORES = {"harassment": 0.002, "violence": 0.93, "self-harm": 0.01}


def moderation(negate: bool = False, **args: object) -> ModerationScorer:
    scorer = build_scorer(ScorerSpec("moderation", args, negate=negate))
    assert isinstance(scorer, ModerationScorer)
    return scorer


def test_needs_a_moderation_call_on_the_default_model():
    scorer = moderation()
    assert (scorer.needs, scorer.model) == ("moderation", DEFAULT_MODERATION_MODEL)
    assert moderation(model="openai/sim-moderation").model == "openai/sim-moderation"


def test_moderates_the_output():
    assert moderation().text(ScoreContext(output="hello", expected="x")) == "hello"


def test_a_clean_output_passes_naming_its_highest_score():
    score = moderation().from_result(CLEAN, SCORES)
    assert (score.value, score.passed) == (1.0, True)
    assert "not flagged" in score.reason and "violence (0.930)" in score.reason


def test_a_flagged_output_fails_naming_the_categories_and_scores():
    flags = {**CLEAN, "violence": True, "harassment": True}
    score = moderation().from_result(flags, SCORES)
    assert (score.value, score.passed) == (0.0, False)
    assert "violence (0.930)" in score.reason and "harassment (0.002)" in score.reason
    assert "self-harm" not in score.reason


def test_only_the_listed_categories_count():
    flags = {**CLEAN, "violence": True}
    assert moderation(categories=["harassment"]).from_result(flags, SCORES).passed
    assert not moderation(categories=["harassment", "violence"]).from_result(flags, SCORES).passed


def test_a_category_the_model_does_not_report_fails_rather_than_passing_unchecked():
    score = moderation(categories=["violance"]).from_result(CLEAN, SCORES)
    assert not score.passed and "'violance'" in score.reason and "violence" in score.reason


def test_negated_passes_only_when_flagged():
    flags = {**CLEAN, "violence": True}
    assert moderation(negate=True).from_result(flags, SCORES).passed
    assert not moderation(negate=True).from_result(CLEAN, SCORES).passed


@pytest.mark.parametrize(
    "args",
    [{"categories": []}, {"categories": "violence"}, {"categories": [""]}, {"model": ""}, {"x": 1}],
)
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValidationError):
        moderation(**args)
