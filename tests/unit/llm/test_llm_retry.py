from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BudgetExceededError, ProviderError, ValidationError
from domain.llm import RetryPolicy, backoff_delay, classify, should_retry


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("status", "kind", "expected", "retryable", "fallback"),
    [
        (429, "rate_limit", "rate_limit", True, True),
        (429, "unknown", "rate_limit", True, True),
        (500, "server", "server", True, True),
        (503, "unknown", "server", True, True),
        (504, "unknown", "timeout", True, True),
        (None, "timeout", "timeout", True, True),
        (None, "connection", "connection", True, True),
        (None, "unknown", "unknown", True, True),
        (None, "made-up", "unknown", True, True),
        (401, "auth", "auth", False, True),
        (403, "unknown", "auth", False, True),
        (400, "bad_request", "bad_request", False, False),
        (422, "unknown", "bad_request", False, False),
        (404, "not_found", "not_found", False, True),
        (400, "context_window", "context_window", False, True),
        (400, "content_policy", "content_policy", False, True),
        (None, "budget", "budget", False, False),
        (400, "server", "bad_request", False, False),
    ],
)
def test_classification_table(
    status: int | None, kind: str, expected: str, retryable: bool, fallback: bool
) -> None:
    outcome = classify(status, kind)
    assert (outcome.kind, outcome.retryable, outcome.fallback) == (expected, retryable, fallback)


def test_outcomes_become_our_own_errors() -> None:
    error = classify(503, "server").to_error("upstream down", model="openai/m")
    assert isinstance(error, ProviderError) and error.retryable
    assert error.details == {
        "retryable": True,
        "kind": "server",
        "status": 503,
        "model": "openai/m",
    }
    assert isinstance(classify(None, "budget").to_error("over"), BudgetExceededError)


@given(
    attempt=st.integers(1, 60),
    base=st.one_of(st.just(0.0), st.floats(1e-6, 10)),
    extra=st.floats(0, 100),
    jitter=st.floats(0, 1),
    u=st.floats(0, 1, exclude_max=True),
)
def test_backoff_stays_within_its_bounds(
    attempt: int, base: float, extra: float, jitter: float, u: float
) -> None:
    policy = RetryPolicy(base_delay_s=base, max_delay_s=base + extra, jitter=jitter)
    delay = backoff_delay(attempt, policy, FixedRandom(u))
    ceiling = min(policy.max_delay_s, base * 2 ** (attempt - 1))
    assert ceiling * (1 - jitter) - 1e-9 <= delay <= ceiling + 1e-9


def test_backoff_survives_absurd_attempt_numbers() -> None:
    policy = RetryPolicy(base_delay_s=1e-300, max_delay_s=5.0, jitter=0.0)
    assert backoff_delay(100_000, policy, random.Random(0)) == 5.0


def test_backoff_doubles_per_attempt_without_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, jitter=0.0)
    rng = random.Random(1)
    assert [backoff_delay(a, policy, rng) for a in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(retry_after=st.floats(0, 1000), attempt=st.integers(1, 10))
def test_backoff_never_undercuts_retry_after(retry_after: float, attempt: int) -> None:
    delay = backoff_delay(attempt, RetryPolicy(), random.Random(0), retry_after_s=retry_after)
    assert delay >= retry_after


def test_backoff_rejects_attempt_zero() -> None:
    with pytest.raises(ValidationError):
        backoff_delay(0, RetryPolicy(), random.Random(0))


def test_retries_stop_at_max_attempts_and_on_fatal_outcomes() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert should_retry(classify(429, "rate_limit"), 2, policy)
    assert not should_retry(classify(429, "rate_limit"), 3, policy)
    assert not should_retry(classify(401, "auth"), 1, policy)
