from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import NotFoundError, ValidationError
from domain.reports import ResultRecord, percentile, summarize, wilson_interval


def cell(case_id: str = "c", **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return ResultRecord(case_id=case_id, **(values | fields))


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(8, 10, 0.490, 0.943), (0, 10, 0.0, 0.278), (10, 10, 0.722, 1.0), (50, 100, 0.404, 0.596)],
)
def test_wilson_interval_known_values(successes: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-4)


def test_wilson_interval_with_no_trials_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@given(st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_pass_rate_lies_inside_its_wilson_interval(counts: tuple[int, int]) -> None:
    successes, n = counts
    low, high = wilson_interval(successes, n)

    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low <= successes / n <= high


def test_percentile_interpolates_linearly_by_hand() -> None:
    values = [40, 15, 50, 35, 20]  # sorted: 15 20 35 40 50

    assert percentile(values, 50) == 35
    assert percentile(values, 95) == pytest.approx(40 + 0.8 * 10)  # h = 4 × 0.95 = 3.8
    assert percentile(values, 25) == 20
    assert percentile(values, 0) == 15
    assert percentile(values, 100) == 50
    assert percentile([7.0], 95) == 7.0


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.floats(0, 100),
)
def test_percentile_matches_numpy_default(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_percentile_refuses_no_values() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_errored_cells_count_as_failures() -> None:
    results = [
        cell("a", passed=True),
        cell("b", passed=True),
        cell("c", passed=False),
        cell("d", error="timeout"),
    ]

    group = summarize(results).group("v1", "m")

    assert (group.n_cells, group.n_errors, group.n_graded, group.n_passed) == (4, 1, 4, 2)
    assert group.pass_rate == 0.5
    assert group.pass_rate_without_errors == pytest.approx(2 / 3)
    assert group.pass_ci == wilson_interval(2, 4)


def test_cells_without_a_verdict_are_left_out_of_pass_rates() -> None:
    group = summarize([cell("a", passed=True), cell("b", score=0.5)]).groups[0]

    assert (group.n_graded, group.pass_rate) == (1, 1.0)


def test_group_without_verdicts_has_no_pass_rate() -> None:
    group = summarize([cell("a", score=0.5)]).groups[0]

    assert (group.pass_rate, group.pass_ci, group.pass_rate_without_errors) == (None, None, None)


def test_scores_latency_tokens_and_cost() -> None:
    results = [
        cell("a", score=1.0, scores={"exact": 1.0, "judge": 0.5}, latency_ms=100.0,
             prompt_tokens=10, completion_tokens=5, cost_usd=0.01),
        cell("b", score=0.0, scores={"exact": 0.0}, latency_ms=300.0,
             prompt_tokens=20, completion_tokens=5, cost_usd=0.02, fallback_model="m2"),
        cell("c", error="boom", latency_ms=200.0, cached=True),
    ]  # fmt: skip

    group = summarize(results).groups[0]

    assert group.mean_score == 0.5
    assert group.mean_scores == {"exact": 0.5, "judge": 0.5}
    assert group.latency_p50_ms == 200.0
    assert group.latency_p95_ms == pytest.approx(290.0)
    assert (group.prompt_tokens, group.completion_tokens, group.total_tokens) == (30, 10, 40)
    assert group.cost_usd == pytest.approx(0.03)
    assert group.n_cost_unknown == 1
    assert (group.n_fallback, group.n_cached) == (1, 1)
    assert group.top_errors == (("boom", 1),)


def test_groups_are_per_version_and_model_and_sorted() -> None:
    results = [
        cell("a", prompt_version="v2", model="m"),
        cell("a", prompt_version="v1", model="z"),
        cell("a", prompt_version="v1", model="a", run_id="r2"),
    ]

    report = summarize(results)

    assert [(g.prompt_version, g.model) for g in report.groups] == [
        ("v1", "a"),
        ("v1", "z"),
        ("v2", "m"),
    ]
    assert (report.run_ids, report.n_results) == (("r", "r2"), 3)


def test_a_cell_recorded_twice_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        summarize([cell("a"), cell("a")])

    assert caught.value.details["reason"] == "duplicate-cell"


def test_repeats_are_distinct_cells() -> None:
    assert summarize([cell("a", repeat=0), cell("a", repeat=1)]).groups[0].n_cells == 2


def test_unknown_group_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        summarize([cell("a")]).group("v9", "m")


def test_no_results_make_an_empty_report() -> None:
    assert summarize([]).groups == ()
