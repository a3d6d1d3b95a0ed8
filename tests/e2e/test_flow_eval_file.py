"""`autoforge eval` on a flow file (examples/flows): two flow versions × two models, as a
user runs it; a second run reuses the versions; a broken flow file is refused naming the
step."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import autoforge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flows"


def test_a_flow_eval_file_runs_both_versions_on_both_models(tmp_path: Path, ray_tmp: Path) -> None:
    work = tmp_path / "flows"
    shutil.copytree(EXAMPLE, work)
    done = autoforge(tmp_path / "data", ray_tmp, "eval", str(work / "eval.yaml"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    groups = summary["report"]["groups"]
    assert len(groups) == 2 * 2
    assert {g["n_cells"] for g in groups} == {7}
    assert summary["status"] == "completed"

    (work / "support-v2.yaml").write_text(
        (work / "support-v2.yaml").read_text().replace("next: end", "next: classify")
    )
    broken = autoforge(tmp_path / "data", ray_tmp, "eval", str(work / "eval.yaml"))
    assert broken.returncode != 0
    assert "'billing'" in broken.stderr + broken.stdout
    assert "Traceback" not in broken.stderr


def test_a_conversation_eval_file_runs_scripted_and_simulated_users(
    tmp_path: Path, ray_tmp: Path
) -> None:
    work = tmp_path / "flows"
    shutil.copytree(EXAMPLE, work)
    data = tmp_path / "data"
    done = autoforge(data, ray_tmp, "eval", str(work / "chat-eval.yaml"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    groups = summary["report"]["groups"]
    assert len(groups) == 2 * 2 and {g["n_cells"] for g in groups} == {3}
    assert all(g["n_errors"] == 0 for g in groups), groups
    assert all(g["mean_scores"]["every-turn-answers"] == 1.0 for g in groups)


def test_flow_commands_version_a_flow_and_refuse_a_bad_one(tmp_path: Path, ray_tmp: Path) -> None:
    data = tmp_path / "data"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return autoforge(data, ray_tmp, *args)

    for name, text in (
        ("triage", "Classify this ticket: {{ question }}"),
        ("triage-careful", "Carefully classify: {{ question }}"),
        ("reply", "Reply to this {{ classify }} ticket: {{ question }}"),
    ):
        assert cli("prompt", "create", name, "--template", text).returncode == 0
    v1, v2 = str(EXAMPLE / "support-v1.yaml"), str(EXAMPLE / "support-v2.yaml")
    made = cli("flow", "create", "support", v1, "--json")
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)
    committed = cli("flow", "commit", "support", v2, "-m", "careful", "--parent", first["id"])
    assert committed.returncode == 0 and "support v2" in committed.stdout
    assert cli("flow", "label", "support", "production", "v1").returncode == 0
    diff = cli("flow", "diff", "support", "production", "main")
    assert diff.returncode == 0 and "changed: steps.classify" in diff.stdout
    assert '+      "prompt": "triage-careful@main"' in diff.stdout
    log = json.loads(cli("flow", "log", "support", "--json").stdout)
    assert [v["number"] for v in log] == [2, 1]
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(v1).read_text().replace("next: end", "next: classify"))
    refused = cli("flow", "check", str(bad))
    assert refused.returncode == 2  # a validation error, as for any bad input
    assert "step 'billing'" in refused.stderr and "Traceback" not in refused.stderr
    assert cli("flow", "check", v2).returncode == 0
