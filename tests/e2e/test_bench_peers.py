"""`bench/peers.py` end to end on a tiny workload: every number measured and consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "peers.py"
CELLS, C = 64, 32  # 100 ms each: twice the concurrency, so a loop can fill all C


def test_the_peer_benchmark_measures_a_raw_loop_and_a_cold_engine() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--workloads", "100ms-c32", "--cells", str(CELLS)]
        + ["--runners", "raw,engine-cold,promptfoo", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    rows = {row["runner"]: row for row in document["medians"]}
    assert [m["runner"] for m in document["measurements"]] == ["raw", "engine-cold"]
    assert "n/a" in rows["promptfoo"]
    raw, engine = rows["raw"], rows["engine-cold"]
    # a semaphore of C and 64 cells to fill it (on a loaded machine the first answers can
    # come back before the last of the first C requests is sent)
    assert C // 2 < raw["peak_in_flight"] <= C
    assert 1 < raw["mean_in_flight"] <= raw["peak_in_flight"]
    assert 0 < engine["peak_in_flight"] <= C
    for row in (raw, engine):
        assert row["errors"] == 0 and row["rate_limited"] == 0
        assert row["requests"] == CELLS
        assert 0.1 <= row["span_s"] <= row["wall_s"]  # one request takes 100 ms
    assert engine["missing"] == 0
    assert document["workloads"][0]["cells"] == CELLS
