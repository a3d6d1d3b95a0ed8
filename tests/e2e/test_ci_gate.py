"""`autoforge eval` as a CI job runs it: a baseline, a regressed change that fails the gates
(exit 1, JUnit failures), an unchanged one that passes (exit 0), a bad baseline (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOOD = "What is {{a}} + {{b}}? Answer with only the number."
REGRESSED = "Name a colour. ({{a}}, {{b}})"  # the simulator answers without any number
GATES = ("--fail-under", "0.9", "--baseline", "production", "--fail-on-regression")


def eval_file(tmp_path: Path, name: str, template: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "name: ci-gate\nprompt:\n  name: adder\n  versions:\n"
        f"    - system: You are a careful calculator.\n      template: '{template}'\n"
        "models: [openai/sim-large]\ndataset: cases.jsonl\n"
        "scorers: [{type: numeric, name: correct}]\nseed: 0\nsimulator: true\n"
    )
    return path


def autoforge(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "RAY_ADDRESS", "RAY_AUTH_MODE") and not k.startswith("AUTOFORGE_")
    }
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path / "data"), AUTOFORGE_RAY_NUM_CPUS="1")
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def counts(junit: Path) -> dict[str, tuple[int, int]]:
    """(tests, failures) per test suite."""
    root = ET.parse(junit).getroot()
    return {
        s.get("name", ""): (int(s.get("tests", "0")), int(s.get("failures", "0")))
        for s in root.iter("testsuite")
    }


def test_a_regression_fails_the_job_and_an_unchanged_prompt_passes(tmp_path: Path) -> None:
    rows = [{"id": f"c{i}", "vars": {"a": i + 3, "b": 2 * i + 1}} for i in range(8)]
    expected = [{**r, "expected": str(3 * i + 4)} for i, r in enumerate(rows)]
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in expected))
    good, regressed = eval_file(tmp_path, "good", GOOD), eval_file(tmp_path, "bad", REGRESSED)
    junit, comment = tmp_path / "out" / "junit.xml", tmp_path / "out" / "comment.md"

    baseline = autoforge(tmp_path, "eval", good, "--fail-under", "0.9", "--junit", junit)
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    assert counts(junit) == {"v1 on openai/sim-large": (8, 0), "autoforge gates": (2, 0)}
    labelled = autoforge(tmp_path, "prompt", "label", "adder", "production", "v1")
    assert labelled.returncode == 0, labelled.stderr

    worse = autoforge(tmp_path, "eval", regressed, *GATES, "--junit", junit, "--markdown", comment)

    assert worse.returncode == 1, worse.stderr[-3000:]
    assert counts(junit) == {"v2 on openai/sim-large": (8, 8), "autoforge gates": (3, 2)}
    gates = ET.parse(junit).getroot().findall("testsuite[@name='autoforge gates']/testcase")
    failed = [g.get("name") for g in gates if g.find("failure") is not None]
    assert failed == ["pass rate", "no regression vs baseline"]
    text = comment.read_text()
    assert text.startswith("### ❌ AutoForge eval: ci-gate (run_")
    assert "8 regressed, McNemar p=0.0078" in text and "**Failing cases** (8)" in text

    unchanged = autoforge(tmp_path, "eval", good, *GATES, "--junit", junit, "--json")

    assert unchanged.returncode == 0, unchanged.stderr[-3000:]
    summary = json.loads(unchanged.stdout)
    assert summary["passed"] and [g["passed"] for g in summary["gates"]] == [True, True, True]
    assert summary["baseline_comparisons"][0]["p_value"] == 1.0
    assert counts(junit)["autoforge gates"] == (3, 0)

    unknown = autoforge(tmp_path, "eval", good, "--baseline", "staging", "--fail-on-regression")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "autoforge: not-found: --baseline 'staging': neither a run id nor a ref of prompt 'adder'\n"
    )
