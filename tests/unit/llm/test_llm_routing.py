from __future__ import annotations

import pytest

from domain.errors import NotFoundError, ValidationError
from domain.llm import (
    FallbackPolicy,
    ModelSpec,
    Usage,
    cheapest_that_qualifies,
    classify,
    fixed,
    lowest_latency,
    next_model,
)

SMALL = ModelSpec("openai/small", "sim", 1e-7, 4e-7, 16_000, 0.6, frozenset({"json"}))
LARGE = ModelSpec("openai/large", "sim", 5e-6, 15e-6, 128_000, 0.95, frozenset({"json"}))
UNPRICED = ModelSpec("anthropic/x", "claude", None, None, 200_000, 0.9)
MODELS = [LARGE, UNPRICED, SMALL]
CHAIN = FallbackPolicy(("openai/small", "openai/large", "anthropic/x"), after_attempts=2)


def test_fixed_returns_the_named_model_or_says_which_exist() -> None:
    assert fixed(MODELS, "openai/small") is SMALL
    with pytest.raises(NotFoundError, match="known: openai/large, anthropic/x, openai/small"):
        fixed(MODELS, "openai/tiny")


def test_cheapest_without_requirements_is_the_lowest_price() -> None:
    assert cheapest_that_qualifies(MODELS) is SMALL


def test_cheapest_respects_skill_context_and_tags() -> None:
    assert cheapest_that_qualifies(MODELS, min_skill=0.9) is LARGE
    assert cheapest_that_qualifies(MODELS, min_context=20_000, tags={"json"}) is LARGE


def test_unknown_price_ranks_last() -> None:
    assert cheapest_that_qualifies(MODELS, min_skill=0.9, usage=Usage(1000, 100)) is LARGE


def test_a_price_source_prices_models_the_catalogue_does_not() -> None:
    prices = {"anthropic/x": 1e-9}
    pick = cheapest_that_qualifies(MODELS, min_skill=0.9, price=lambda m: prices.get(m.name, 1.0))
    assert pick is UNPRICED


def test_equal_prices_keep_the_candidates_order() -> None:
    assert cheapest_that_qualifies(MODELS, min_skill=0.9, price=lambda m: 0.0) is LARGE


def test_nothing_qualifying_raises() -> None:
    with pytest.raises(NotFoundError, match="no model qualifies"):
        cheapest_that_qualifies(MODELS, min_context=1_000_000)


def test_lowest_latency_picks_the_fastest_observed() -> None:
    observed = {"openai/large": 900.0, "openai/small": 200.0}
    assert lowest_latency(MODELS, observed) is SMALL
    assert lowest_latency(MODELS, observed, unknown_ms=0.0) is UNPRICED


def test_fallback_stays_until_after_attempts_then_walks_the_chain() -> None:
    assert next_model(CHAIN, "openai/small", 1) == "openai/small"
    assert next_model(CHAIN, "openai/small", 2) == "openai/large"
    assert next_model(CHAIN, "openai/large", 2) == "anthropic/x"
    assert next_model(CHAIN, "anthropic/x", 2) is None


def test_a_non_retryable_outcome_falls_back_at_once() -> None:
    assert next_model(CHAIN, "openai/small", 1, classify(400, "context_window")) == "openai/large"


def test_an_outcome_no_model_can_fix_ends_the_walk() -> None:
    assert next_model(CHAIN, "openai/small", 1, classify(400, "bad_request")) is None


def test_a_model_outside_the_chain_is_an_error() -> None:
    with pytest.raises(ValidationError):
        next_model(CHAIN, "openai/other", 1)
