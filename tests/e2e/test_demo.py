"""The README's demo command, as a new user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _demo(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`autoforge demo` as a new user runs it, its output piped (not a terminal)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "RAY_ADDRESS", "RAY_AUTH_MODE")
        and not k.startswith("AUTOFORGE_LOG_")
    }
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path), AUTOFORGE_RAY_NUM_CPUS="1")
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_demo_checks_services_and_evaluates_two_versions(tmp_path: Path) -> None:
    out = _demo(tmp_path, "--json")
    result = json.loads(out.stdout)
    assert [c["ok"] for c in result["checks"]] == [True, True, True, True]
    assert result["status"] == "completed"
    groups = result["report"]["groups"]
    assert len(groups) == 4 and sum(g["n_cells"] for g in groups) == 200
    assert len(result["comparisons"]) == 2
    html = Path(result["html_report"])
    assert html.is_file() and "<svg" in html.read_text()


def test_demo_prints_readable_text_and_no_warning_when_piped(tmp_path: Path) -> None:
    out = _demo(tmp_path)
    lines = out.stdout.splitlines()
    assert lines[0] == "AutoForge Nexus: embedded services"
    assert sum(line.startswith("  [ok  ] ") for line in lines) == 4
    assert any(line.startswith("Run run_") and ": completed, 200 cells" in line for line in lines)
    assert lines[-1].startswith("Done in ")
    noisy = [
        line
        for line in out.stderr.splitlines()
        if line.strip() and ("warn" in line.lower() or line.lstrip().startswith("{"))
    ]
    assert noisy == [], out.stderr[-3000:]
