from __future__ import annotations

import pytest

from domain.llm import exhausted_reset, parse_duration, provider_pause, retry_after


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("2", 2.0), ("0.5", 0.5)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "5x", "1s junk"])
def test_non_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


def test_retry_after_ms_wins_over_retry_after_and_case_is_ignored() -> None:
    assert retry_after({"Retry-After-Ms": "250", "Retry-After": "1"}) == 0.25
    assert retry_after({"Retry-After": "3"}) == 3.0


def test_only_exhausted_limits_count_and_the_longest_reset_wins() -> None:
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert exhausted_reset(headers) == 360.0
    assert exhausted_reset({**headers, "x-ratelimit-remaining-tokens": "12"}) == 2.0


def test_provider_pause_takes_the_longest_signal_or_none() -> None:
    exhausted = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "5s"}
    assert provider_pause(1.0, exhausted) == 5.0
    assert provider_pause(9.0, exhausted) == 9.0
    assert provider_pause(None, {}) is None
