"""`autoforge demo --optimize`, as the README shows it: a baseline run, an optimization, the
promoted version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_demo import _demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_optimizes_the_arithmetic_prompt_and_promotes_it(tmp_path: Path) -> None:
    result = json.loads(_demo(tmp_path, "--optimize", "--json").stdout)

    assert [c["ok"] for c in result["checks"]] == [True, True, True, True]
    baseline, info, test = result["baseline_run"], result["optimization"], result["test"]
    assert baseline["status"] == "completed" and baseline["n"] == 60
    assert info["status"] == "completed" and info["optimizer"] == "gepa"
    assert info["reflection_model"] == "openai/sim-reflector" and info["reflection_calls"] > 0
    assert 0 < info["calls"] <= info["max_metric_calls"]
    assert info["best_val_score"] > info["baseline_val_score"]
    assert test["best_score"] > test["baseline_score"]
    promotion, promoted = result["promotion"], result["promoted_run"]
    assert promotion["promoted"] is True and promotion["p_value"] < 0.05  # seeded: the same
    assert promoted["status"] == "completed" and promoted["pass_rate"] > baseline["pass_rate"]
    assert "better than" in result["comparison"]
    html = Path(result["html_report"])
    assert html.is_file() and "<svg" in html.read_text(encoding="utf-8")


def test_demo_optimize_prints_the_three_steps(tmp_path: Path) -> None:
    lines = _demo(tmp_path, "--optimize").stdout.splitlines()

    assert lines[0] == "AutoForge Nexus: embedded services"
    steps = [line.split(" ", 1)[0] for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert steps == ["1.", "2.", "3."]
    assert any(line.startswith("Optimization report: ") for line in lines)
    assert lines[-1].startswith("Done in ")
