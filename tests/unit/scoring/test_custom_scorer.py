import pytest

from domain.errors import ValidationError
from domain.scoring import Score, ScoreContext, custom_scorer

CTX = ScoreContext(output="hello world")


def word_count(ctx: ScoreContext) -> float:
    return len(ctx.output.split()) / 4


def test_bool_return_becomes_binary_score():
    result = custom_scorer(lambda ctx: "hello" in ctx.output, name="greets").score(CTX)
    assert (result.value, result.passed, result.name) == (1.0, True, "greets")


def test_number_return_is_compared_with_threshold():
    result = custom_scorer(word_count, threshold=0.5).score(CTX)
    assert (result.value, result.passed, result.name) == (0.5, True, "word_count")


def test_number_return_is_clamped_and_says_so():
    result = custom_scorer(lambda ctx: 3).score(CTX)
    assert result.value == 1.0 and result.reason == "custom score 1 (clamped from 3)"


def test_score_return_is_kept_but_renamed():
    result = custom_scorer(lambda ctx: Score(0.3, True, "lenient", "x"), name="mine").score(CTX)
    assert result == Score(0.3, True, "lenient", "mine")


def test_exception_becomes_failed_score_naming_it():
    def broken(ctx: ScoreContext) -> float:
        raise KeyError("missing")

    result = custom_scorer(broken).score(CTX)
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason == "custom scorer 'broken' raised KeyError: 'missing'"


def test_invalid_score_built_by_user_becomes_failed_score():
    result = custom_scorer(lambda ctx: Score(2.0, True, "", "x")).score(CTX)
    assert not result.passed and "raised ValidationError" in result.reason


def test_nan_return_fails():
    assert custom_scorer(lambda ctx: float("nan")).score(CTX).reason.endswith("returned NaN")


def test_unsupported_return_type_fails():
    result = custom_scorer(lambda ctx: "yes").score(CTX)
    assert not result.passed and "returned str" in result.reason


def test_record_names_function_but_is_not_a_spec():
    record = custom_scorer(word_count, weight=2).record()
    assert record == {
        "type": "custom",
        "name": "word_count",
        "qualname": f"{__name__}.word_count",
        "weight": 2.0,
        "threshold": 1.0,
    }


def test_lambda_gets_a_readable_default_name():
    assert custom_scorer(lambda ctx: True).name == "custom"


def test_non_callable_is_rejected():
    with pytest.raises(ValidationError, match="must be callable"):
        custom_scorer("not a function")  # type: ignore[arg-type]


def test_bad_threshold_is_rejected():
    with pytest.raises(ValidationError, match="threshold"):
        custom_scorer(word_count, threshold=2)
