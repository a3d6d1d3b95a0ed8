"""The peer benchmark's numbers (bench/peers_report.py): one measurement, medians, n/a rows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # its flat imports

from peers_report import Measurement, medians, render_table  # noqa: E402
from peers_workload import WORKLOADS  # noqa: E402

WORKLOAD = WORKLOADS["100ms-c32"]


def stats(**overrides: Any) -> dict[str, Any]:
    base = {
        "request_span_s": 3.5,
        "rate_limited": 0,
        "max_in_flight": 32,
        "mean_in_flight": 28.0,
        "by_route": {"POST /v1/chat/completions": 1000},
    }
    return {**base, **overrides}


def test_a_measurement_takes_the_runners_own_wall_and_counts_unrecorded_cells() -> None:
    line = {"wall_s": 9.5, "cells": 1000, "recorded": 990, "errors": 3, "status": "failed"}
    m = Measurement.of("100ms-c32", "cli-cold", 0, 10.2, line, stats())
    assert m.wall_s == 9.5 and m.missing == 10 and m.errors == 3 and m.note == "failed"
    raw = Measurement.of("100ms-c32", "raw", 0, 4.2, {"cells": 1000, "errors": 0}, stats())
    assert raw.wall_s == 4.2 and raw.missing is None and raw.requests == 1000


def test_a_runner_that_gave_no_result_is_left_out_of_the_medians() -> None:
    ok = Measurement.of("100ms-c32", "engine-cold", 0, 40.0, {"errors": 0}, stats())
    broken = Measurement.of("100ms-c32", "engine-cold", 1, 90.0, {}, stats(), "exit 1, no result")
    (row,) = medians([ok, broken], [WORKLOAD], ["engine-cold"], {})
    assert broken.failed and row["wall_s"] == 40.0 and row["repeats"] == 1
    assert row["notes"] == ["1 of 2 runs failed", "exit 1, no result"]


def test_medians_per_runner_and_n_a_for_what_could_not_run() -> None:
    results = [
        Measurement.of("100ms-c32", "raw", r, wall, {"errors": 0}, stats(request_span_s=span))
        for r, (wall, span) in enumerate([(4.0, 3.4), (9.0, 3.9), (5.0, 3.5)])
    ]
    rows = medians(results, [WORKLOAD], ["raw", "promptfoo"], {"promptfoo": "not installed"})
    assert rows[0]["wall_s"] == 5.0 and rows[0]["span_s"] == 3.5 and rows[0]["repeats"] == 3
    assert rows[0]["timed_s"] is None
    assert rows[1] == {"workload": "100ms-c32", "runner": "promptfoo", "n/a": "not installed"}
    table = render_table(rows, [WORKLOAD], {"repeats": 3})
    assert "| 1,000 cells, 100 ms, C=32 (bound 3.1 s) | raw | 5.00 | — | 3.50 |" in table
    assert "promptfoo (not installed) | n/a" in table
    assert table.rstrip().splitlines()[2].endswith("| 0 | — | 0 | 32 | 28.00 | 1,000 |")
