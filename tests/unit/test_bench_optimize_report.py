"""The optimization benchmark's numbers (bench/optimize_report.py): rows, means, gaps, table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # its flat imports

from optimize_report import DSPY, Row, averages, gaps, render_table, row_from_dict  # noqa: E402


def row(family: str, optimizer: str, **overrides: Any) -> Row:
    base: dict[str, Any] = {
        "baseline": 0.2,
        "optimized": 0.6,
        "optimum": 0.8,
        "metric_calls": 500,
        "reflection_calls": 30,
        "test_calls": 60,
        "cost_usd": 0.01,
        "wall_s": 12.0,
    }
    return Row(family, optimizer, **{**base, **overrides})


def test_percent_of_optimum_and_gap_closed_say_what_their_names_say() -> None:
    r = row("arithmetic", "gepa")
    assert r.pct_of_optimum == 75.0  # 0.6 / 0.8
    assert abs((r.gap_closed or 0) - 66.666) < 0.01  # (0.6 - 0.2) / (0.8 - 0.2)
    # no room above the baseline, or no optimum measured: no percentage, not a division error
    assert row("a", "gepa", baseline=0.8).gap_closed is None
    assert row("a", "gepa", optimum=None).pct_of_optimum is None
    assert row("a", "gepa", optimum=0.0).pct_of_optimum is None


def test_means_per_optimizer_are_none_when_a_family_lacks_the_number() -> None:
    rows = [
        row("arithmetic", "gepa", optimized=0.6),
        row("conversion", "gepa", optimized=0.8, cost_usd=0.03),
        row("arithmetic", DSPY, optimized=0.5, cost_usd=None),
        row("conversion", DSPY, optimized=0.7, cost_usd=None),
    ]
    gepa, dspy = averages(rows)
    assert gepa["optimizer"] == "gepa" and gepa["families"] == 2
    assert abs(gepa["optimized"] - 0.7) < 1e-9 and abs(gepa["cost_usd"] - 0.02) < 1e-9
    assert dspy["cost_usd"] is None and abs(dspy["optimized"] - 0.6) < 1e-9


def test_the_gepa_minus_random_gap_uses_only_families_with_both() -> None:
    rows = [
        row("arithmetic", "gepa", optimized=0.9),
        row("arithmetic", "random", optimized=0.4),
        row("conversion", "gepa", optimized=0.7),
        row("conversion", "random", optimized=None, status="failed"),
        row("classification", "gepa", optimized=0.5),
    ]
    gap = gaps(rows)
    assert gap["per_family"] == {"arithmetic": 0.9 - 0.4}
    assert gap["mean"] == 0.9 - 0.4
    assert gaps([row("a", "gepa")])["mean"] is None


def test_the_table_shows_every_row_the_means_and_ideal_only_with_latency() -> None:
    rows = [row("arithmetic", "gepa"), row("arithmetic", "random", optimized=0.3)]
    text = render_table(rows, {"model": "openai/sim-small"})
    assert "| arithmetic | gepa | 0.200 | 0.600 | 0.800 | 75% | 67% | 500 |" in text
    assert "**mean of 1**" in text and "ideal s" not in text and "wall ÷ ideal" not in text
    assert "gepa - random (optimized test score): mean +0.300" in text
    timed = render_table([row("arithmetic", "gepa", ideal_s=4.5)], {})
    assert "| ideal s | wall ÷ ideal |" in timed and "| 12.0 | 4.5 | 2.67× |" in timed
    failed = render_table([row("arithmetic", DSPY, optimized=None, status="failed (exit 1)")], {})
    assert "dspy.GEPA (failed (exit 1))" in failed and "| — |" in failed


def test_a_saved_row_reads_back_as_it_was() -> None:
    r = row("conversion", DSPY, ideal_s=3.0, requests={"sim-small": 9}, extra={"rollouts": 84})
    assert row_from_dict(r.to_dict()) == r
