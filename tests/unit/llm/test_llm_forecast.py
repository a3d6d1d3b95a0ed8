"""The completion forecast a budget reserves: max_tokens when set, else learnt per run."""

from __future__ import annotations

from domain.llm import DEFAULT_COMPLETION_TOKENS, CompletionForecast
from domain.llm.forecast import MAX_KEYS, MOST_COMPLETION_TOKENS


def test_max_tokens_is_the_forecast_when_set_whatever_was_seen() -> None:
    forecast = CompletionForecast()
    forecast.observe("run", 900)
    assert forecast.expect("run", 32) == 32


def test_without_max_tokens_the_longest_recent_completion_is_expected() -> None:
    forecast = CompletionForecast(window=3)
    assert forecast.expect("run", None) == DEFAULT_COMPLETION_TOKENS
    for tokens in (40, 7, 9, 11):
        forecast.observe("run", tokens)
    assert forecast.expect("run", None) == 11  # 40 left the window
    assert forecast.expect("another run", None) == DEFAULT_COMPLETION_TOKENS


def test_a_learnt_forecast_is_capped_and_never_zero() -> None:
    forecast = CompletionForecast()
    forecast.observe("long", 10**6)
    forecast.observe("empty", 0)
    assert forecast.expect("long", None) == MOST_COMPLETION_TOKENS
    assert forecast.expect("empty", None) == 1


def test_keys_are_bounded_oldest_forgotten_first() -> None:
    forecast = CompletionForecast()
    for i in range(MAX_KEYS + 1):
        forecast.observe(i, 5)
    assert forecast.expect(0, None) == DEFAULT_COMPLETION_TOKENS
    assert forecast.expect(MAX_KEYS, None) == 5
