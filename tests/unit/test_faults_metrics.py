"""The fault benchmark's counting (bench/faults_metrics.py): cells, repeats, budget overshoot."""

from __future__ import annotations

import pytest

from bench.faults_metrics import (
    CellCounts,
    FaultResult,
    cell_counts,
    epoch,
    format_table,
    one_line,
    over_cap,
    redis_footprint,
    repeated_requests,
    requests_after_recording,
)


def test_cell_counts_separate_duplicates_from_missing() -> None:
    assert cell_counts(5, [1, 1, 3, 0]) == CellCounts(
        expected=5, recorded=3, duplicated=2, missing=2
    )
    assert cell_counts(2, [1, 1]) == CellCounts(2, 2, 0, 0)


def test_requests_count_after_recording_only_from_the_row_time_on() -> None:
    recorded_at = {"a": 10.0, "b": 20.0}
    requests = [(9.0, "a"), (10.0, "a"), (11.0, "a"), (19.9, "b"), (30.0, None)]
    assert requests_after_recording(requests, recorded_at) == 2


def test_repeated_requests_count_beyond_the_first_per_cell() -> None:
    assert repeated_requests(["a", "b", "a", "a", "c"]) == 2
    assert repeated_requests([]) == 0


def test_over_cap_counts_cells_recorded_once_the_cap_was_reached() -> None:
    assert over_cap([0.4, 0.4, 0.4, 0.1], cap=1.0) == (1, pytest.approx(0.3))
    assert over_cap([0.5, 0.5], cap=1.0) == (0, 0.0)


def test_epoch_reads_the_stores_utc_timestamps() -> None:
    assert epoch("1970-01-01T00:00:01.500000+00:00") == 1.5


def test_table_has_one_row_per_fault_and_marks_failures() -> None:
    ok = FaultResult("13-streams", "redis", "completed", CellCounts(4, 4, 0, 0), 0, 0, 4)
    ok.ok, ok.outcome = True, "completed in 1.0 s"
    stuck = FaultResult("10-scheduler", "killed", "completed", outcome="stuck (status=running)")
    lines = format_table([ok, stuck]).splitlines()
    assert lines[2].startswith("13-streams") and "OK   completed in 1.0 s" in lines[2]
    assert lines[3].startswith("10-scheduler") and "FAULT stuck (status=running)" in lines[3]
    assert ok.to_dict()["cells"] == {"expected": 4, "recorded": 4, "duplicated": 0, "missing": 0}


def test_redis_footprint_groups_keys_by_pattern_and_counts_those_without_ttl() -> None:
    keys = [
        {"key": "af:run:run_ab12:results", "bytes": 100, "entries": 4, "ttl_s": -1},
        {"key": "af:budget:{run:run_ab12}:call:0123456789abcdef", "bytes": 10,
         "entries": None, "ttl_s": 60},
        {"key": "af:budget:{run:run_ab12}:call:fedcba9876543210", "bytes": 10,
         "entries": None, "ttl_s": -1},
    ]  # fmt: skip
    assert redis_footprint(keys, "run_ab12") == [
        {"pattern": "af:budget:{run:{id}}:call:*", "keys": 2, "bytes": 20, "entries": 0,
         "without_ttl": 1, "max_ttl_s": 60},
        {"pattern": "af:run:{id}:results", "keys": 1, "bytes": 100, "entries": 4,
         "without_ttl": 1, "max_ttl_s": None},
    ]  # fmt: skip


def test_one_line_drops_colours_and_line_breaks() -> None:
    assert one_line("\x1b[36mray::Evaluator.work()\x1b[39m failed\n  File x", 30) == (
        "ray::Evaluator.work() failed F"
    )
