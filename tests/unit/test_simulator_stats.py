"""The simulator's request span and time-weighted in-flight mean, on a fake clock."""

from __future__ import annotations

from engine.simulator._stats import Stats


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_span_runs_from_the_first_arrival_to_the_last_response() -> None:
    clock = FakeClock()
    stats = Stats(clock=clock)
    stats.request_started()  # a: 1000 → 1002
    clock.now = 1_001.0
    stats.request_started()  # b: 1001 → 1004
    clock.now = 1_002.0
    stats.request_finished()
    clock.now = 1_004.0
    stats.request_finished()
    clock.now = 1_010.0  # idle time after the last response is not part of the span
    snap = stats.snapshot()
    assert snap["first_request_at"] == 1_000.0 and snap["last_response_at"] == 1_004.0
    assert snap["request_span_s"] == 4.0
    # 1 in flight for 1 s, 2 for 1 s, 1 for 2 s: 5 request-seconds over 4 s
    assert snap["mean_in_flight"] == 1.25
    assert snap["max_in_flight"] == 2 and snap["in_flight"] == 0


def test_a_reset_starts_a_new_span_and_mean() -> None:
    clock = FakeClock()
    stats = Stats(clock=clock)
    stats.request_started()
    clock.now += 5
    stats.request_finished()
    stats.reset()
    snap = stats.snapshot()
    assert snap["first_request_at"] is None and snap["request_span_s"] is None
    assert snap["mean_in_flight"] is None
    clock.now += 100
    for _ in range(3):
        stats.request_started()
    clock.now += 2
    for _ in range(3):
        stats.request_finished()
    snap = stats.snapshot()
    assert snap["request_span_s"] == 2.0 and snap["mean_in_flight"] == 3.0


def test_a_request_in_flight_across_a_reset_counts_from_the_next_arrival() -> None:
    clock = FakeClock()
    stats = Stats(clock=clock)
    stats.request_started()  # still in flight when the counters are reset
    clock.now += 10
    stats.reset()
    clock.now += 1
    stats.request_started()
    clock.now += 1
    stats.request_finished()
    stats.request_finished()
    snap = stats.snapshot()
    assert snap["request_span_s"] == 1.0 and snap["mean_in_flight"] == 2.0
    assert snap["max_in_flight"] == 2
