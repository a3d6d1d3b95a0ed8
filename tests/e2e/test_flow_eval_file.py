"""`autoforge eval` on a flow file (examples/flows): two flow versions × two models, as a
user runs it; a second run reuses the versions; a broken flow file is refused naming the
step."""

from __future__ import annotations

import json
import shutil
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
