import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer


def score(type_: str, ctx: ScoreContext, threshold: float | None = None, **args: object) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args, threshold=threshold))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ctx)


def test_latency_passes_at_the_ceiling():
    result = score("latency", ScoreContext(output="", latency_ms=500), max_ms=500)
    assert (result.value, result.passed) == (1.0, True)
    assert result.reason == "latency 500 ms is within 500 ms"


def test_latency_fails_over_the_ceiling_with_partial_value():
    result = score("latency", ScoreContext(output="", latency_ms=1000), max_ms=500)
    assert (result.value, result.passed) == (0.5, False)
    assert result.reason == "latency 1000 ms is over 500 ms"


def test_latency_lower_threshold_tolerates_overrun():
    ctx = ScoreContext(output="", latency_ms=800)
    assert score("latency", ctx, threshold=0.5, max_ms=500).passed


def test_unknown_latency_fails():
    assert score("latency", ScoreContext(output=""), max_ms=500).reason == "latency unknown"


def test_latency_ceiling_must_be_positive():
    with pytest.raises(ValidationError, match="'max_ms' must be > 0"):
        build_scorer(ScorerSpec("latency", {"max_ms": 0}))


def test_cost_passes_within_budget():
    assert score("cost", ScoreContext(output="", cost_usd=0.001), max_usd=0.002).passed


def test_cost_fails_over_budget():
    result = score("cost", ScoreContext(output="", cost_usd=0.004), max_usd=0.002)
    assert (result.value, result.passed) == (0.5, False)
    assert result.reason == "cost $0.004 is over $0.002"


def test_zero_budget_fails_any_cost():
    assert score("cost", ScoreContext(output="", cost_usd=0.001), max_usd=0).value == 0.0


def test_unknown_cost_fails():
    result = score("cost", ScoreContext(output=""), max_usd=1)
    assert not result.passed and result.reason.startswith("cost unknown")


@pytest.mark.parametrize(("reason", "value"), [("stop", "stop"), ("length", "LENGTH")])
def test_finish_reason_matches_ignoring_case(reason, value):
    result = score("finish-reason", ScoreContext(output="", finish_reason=reason), value=value)
    assert (result.value, result.passed) == (1.0, True)
    assert result.reason == f"finish reason is {reason!r}"


def test_other_finish_reason_fails():
    result = score("finish-reason", ScoreContext(output="", finish_reason="length"), value="stop")
    assert not result.passed and result.reason == "finish reason is 'length', not 'stop'"


def test_unknown_finish_reason_fails():
    result = score("finish-reason", ScoreContext(output=""), value="stop")
    assert (result.passed, result.reason) == (False, "finish reason unknown")


@pytest.mark.parametrize("args", [{}, {"value": ""}, {"value": 1}])
def test_finish_reason_needs_a_value(args):
    with pytest.raises(ValidationError, match="'value'"):
        build_scorer(ScorerSpec("finish-reason", args))
