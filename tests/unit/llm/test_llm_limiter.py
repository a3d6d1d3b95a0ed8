from __future__ import annotations

import heapq
from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.llm import AimdPolicy, Lease, RateLimiter, TokenBucket, Wait


def busiest_minute(times: list[float]) -> int:
    """Most events in any closed 60-s window [t, t + 60]."""
    times = sorted(times)
    return max((bisect_right(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


def lease(grant: Lease | Wait) -> Lease:
    assert isinstance(grant, Lease), grant
    return grant


def wait(grant: Lease | Wait) -> Wait:
    assert isinstance(grant, Wait), grant
    return grant


arrivals = st.lists(st.floats(0, 300, allow_nan=False), min_size=1, max_size=400).map(sorted)


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(1, 400), burst_s=st.floats(0.1, 10), times=arrivals)
def test_per_minute_bucket_never_exceeds_its_limit(
    limit: int, burst_s: float, times: list[float]
) -> None:
    bucket = TokenBucket.per_minute(limit, burst_s)
    granted = [t for t in times if bucket.try_take(1, t)]
    assert busiest_minute(granted) <= limit


@settings(max_examples=60, deadline=None)
@given(
    rpm=st.integers(1, 300),
    calls=st.lists(
        st.tuples(st.floats(0, 300, allow_nan=False), st.integers(1, 6), st.floats(0, 1)),
        min_size=1,
        max_size=300,
    ),
)
def test_limiter_never_lets_more_than_rpm_requests_out_in_any_minute(
    rpm: int, calls: list[tuple[float, int, float]]
) -> None:
    limiter = RateLimiter(rpm)
    sent: list[float] = []
    for now, wanted, used_share in sorted(calls):
        grant = limiter.acquire(wanted, 0, now)
        if isinstance(grant, Lease):
            used = round(grant.requests * used_share)
            sent += [now] * used
            limiter.release(grant.id, used, 0, now)
    assert busiest_minute(sent) <= rpm


def simulate(
    limiter: RateLimiter, evaluators: int, batch: int, latency_s: float, duration_s: float
) -> list[float]:
    """Evaluators that lease ``batch`` requests, call for ``latency_s``, release, repeat."""
    sent: list[float] = []
    events: list[tuple[float, int, Lease | None]] = [(0.0, i, None) for i in range(evaluators)]
    seq = evaluators
    while events:
        now, _, done = heapq.heappop(events)
        if done is not None:
            limiter.release(done.id, done.requests, 0, now)
            continue
        if now >= duration_s:
            continue
        grant = limiter.acquire(batch, 0, now)
        if isinstance(grant, Wait):
            heapq.heappush(events, (now + grant.seconds, seq, None))
        else:
            sent += [now] * grant.requests
            heapq.heappush(events, (now + latency_s, seq, grant))
            heapq.heappush(events, (now + latency_s, seq + 1, None))
        seq += 2
    return sent


def test_four_evaluators_sustain_at_least_95_percent_of_rpm_without_exceeding_it() -> None:
    rpm = 1200
    limiter = RateLimiter(rpm, max_concurrency=64)
    sent = simulate(limiter, evaluators=4, batch=4, latency_s=0.25, duration_s=180.0)
    assert len(sent) >= 0.95 * rpm * 3
    assert busiest_minute(sent) <= rpm


def test_a_429_pauses_grants_until_retry_after() -> None:
    limiter = RateLimiter(600)
    assert limiter.on_rate_limited(None, {"Retry-After": "2"}, now=10.0) == 2.0
    assert wait(limiter.acquire(1, 0, 11.0)) == Wait(1.0, "paused")
    lease(limiter.acquire(1, 0, 12.0))


@pytest.mark.parametrize(
    ("headers", "pause"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}, 360.0),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"}, 0.02),
        ({"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "6m0s"}, 1.0),
        ({}, 1.0),
    ],
)
def test_the_pause_follows_the_providers_headers(headers: dict[str, str], pause: float) -> None:
    limiter = RateLimiter(600, default_pause_s=1.0)
    assert limiter.on_rate_limited(None, headers, now=0.0) == pytest.approx(pause)
    assert limiter.snapshot(0.0)["paused_for_s"] == pytest.approx(pause)


def test_an_explicit_retry_after_argument_is_honoured() -> None:
    limiter = RateLimiter(600)
    assert limiter.on_rate_limited(4.0, {}, now=0.0) == 4.0


def test_a_429_cuts_the_rate_once_per_burst_and_it_recovers_additively() -> None:
    limiter = RateLimiter(600, aimd=AimdPolicy(decrease=0.5, increase_per_s=0.05, hold_s=2.0))
    limiter.on_rate_limited(1.0, {}, now=0.0)
    limiter.on_rate_limited(0.5, {}, now=0.5)  # same burst: no second cut
    assert limiter.rate_factor == 0.5
    limiter.in_flight(6.0)  # 5 s after the pause ended
    assert limiter.rate_factor == pytest.approx(0.75)
    limiter.in_flight(30.0)
    assert limiter.rate_factor == 1.0


def test_a_cut_rate_grants_fewer_requests() -> None:
    def granted_in_10s(limiter: RateLimiter) -> int:
        return len(simulate(limiter, evaluators=4, batch=1, latency_s=0.1, duration_s=10.0))

    cut = RateLimiter(600, aimd=AimdPolicy(decrease=0.5, increase_per_s=0.0))
    cut.on_rate_limited(0.0, {}, now=0.0)
    assert granted_in_10s(cut) < 0.6 * granted_in_10s(RateLimiter(600))


def test_an_exhausted_limit_on_a_success_pauses_without_cutting_the_rate() -> None:
    limiter = RateLimiter(600)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"}
    assert limiter.observe(headers, now=0.0) == 3.0
    assert wait(limiter.acquire(1, 0, 1.0)).reason == "paused"
    assert limiter.rate_factor == 1.0


def test_an_expired_lease_is_reclaimed_and_cannot_be_released() -> None:
    limiter = RateLimiter(600, max_concurrency=2, lease_ttl_s=5.0)
    dead = lease(limiter.acquire(2, 0, 0.0))
    assert wait(limiter.acquire(1, 0, 1.0)) == Wait(4.0, "concurrency")
    lease(limiter.acquire(1, 0, 5.0))
    assert limiter.release(dead.id, 2, 0, 6.0) is False
    assert limiter.snapshot(6.0)["reclaimed"] == 1


def test_release_frees_concurrency_and_is_idempotent() -> None:
    limiter = RateLimiter(600, max_concurrency=1)
    first = lease(limiter.acquire(1, 0, 0.0))
    assert wait(limiter.acquire(1, 0, 0.5)).reason == "concurrency"
    assert limiter.release(first.id, 1, 0, 0.5) is True
    assert limiter.release(first.id, 1, 0, 0.5) is False
    lease(limiter.acquire(1, 0, 0.5))


def test_release_refunds_overestimated_tokens() -> None:
    limiter = RateLimiter(600, tpm=6000)  # token burst: 100
    granted = lease(limiter.acquire(1, 100, 0.0))
    limiter.release(granted.id, 1, 40, 0.0)
    assert limiter.snapshot(0.0)["tokens_available"] == pytest.approx(60)


def test_release_debits_underestimated_tokens_and_later_grants_wait() -> None:
    limiter = RateLimiter(600, tpm=6000)  # token refill: (6000 - 100) / 60 per s
    granted = lease(limiter.acquire(1, 100, 0.0))
    limiter.release(granted.id, 1, 300, 0.0)
    assert limiter.snapshot(0.0)["tokens_available"] == pytest.approx(-200)
    later = wait(limiter.acquire(1, 10, 0.0))
    assert later.reason == "tokens"
    assert later.seconds == pytest.approx(210 / (5900 / 60))


def test_unused_requests_are_refunded() -> None:
    limiter = RateLimiter(120)  # request burst: 2
    granted = lease(limiter.acquire(2, 0, 0.0))
    limiter.release(granted.id, 0, 0, 0.0)
    assert lease(limiter.acquire(2, 0, 0.0)).requests == 2


def test_a_lease_is_partial_when_only_part_fits() -> None:
    limiter = RateLimiter(120)  # request burst: 2
    granted = lease(limiter.acquire(5, 500, 0.0))
    assert (granted.requests, granted.tokens) == (2, 200)


def test_a_request_larger_than_the_token_burst_waits_for_a_full_bucket() -> None:
    limiter = RateLimiter(600, tpm=600)  # token burst: 10
    lease(limiter.acquire(1, 50, 0.0))
    assert wait(limiter.acquire(1, 50, 0.0)).reason == "tokens"


def test_waits_are_exact_when_the_request_bucket_is_empty() -> None:
    limiter = RateLimiter(60)  # burst 1, refill 59/60 per s
    lease(limiter.acquire(1, 0, 0.0))
    later = wait(limiter.acquire(1, 0, 0.0))
    assert later.reason == "requests"
    assert later.seconds == pytest.approx(60 / 59)


def test_finished_requests_free_their_places_before_the_lease_is_released() -> None:
    limiter = RateLimiter(rpm=60_000, max_concurrency=4)
    first = lease(limiter.acquire(4, 400, now=0.0))
    assert wait(limiter.acquire(1, 100, now=0.0)).reason == "concurrency"
    assert limiter.short_of_places(0.0)
    limiter.finish(first.id, 3, now=0.1)
    assert lease(limiter.acquire(4, 400, now=0.1)).requests == 3
    limiter.finish(first.id, 9, now=0.2)  # never more than the lease granted
    assert limiter.in_flight(0.2) == 3
    assert limiter.release(first.id, 4, 400, now=0.3) and limiter.in_flight(0.3) == 3


def test_a_lease_says_when_places_were_refused_lately() -> None:
    limiter = RateLimiter(rpm=60_000, max_concurrency=1)
    held = lease(limiter.acquire(1, 10, now=0.0))
    assert not held.short
    wait(limiter.acquire(1, 10, now=0.0))
    limiter.release(held.id, 1, 10, now=0.1)
    assert lease(limiter.acquire(1, 10, now=0.1)).short
