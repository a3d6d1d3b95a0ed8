"""The README's demo command, as a new user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_checks_services_and_evaluates_two_versions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path), AUTOFORGE_RAY_NUM_CPUS="1")
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert [c["ok"] for c in result["checks"]] == [True, True, True, True]
    assert result["status"] == "completed"
    groups = result["report"]["groups"]
    assert len(groups) == 4 and sum(g["n_cells"] for g in groups) == 200
    assert len(result["comparisons"]) == 2
    html = Path(result["html_report"])
    assert html.is_file() and "<svg" in html.read_text()
