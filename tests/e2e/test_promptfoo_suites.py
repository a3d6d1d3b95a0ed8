"""Real promptfoo configs run end to end with `autoforge eval`, on the simulator."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from tests.e2e.cli import autoforge as run_autoforge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "promptfoo"
autoforge = partial(run_autoforge, timeout=300, cwd=ROOT)


def test_corpus_configs_run_on_the_simulator_and_record_results(
    tmp_path: Path, ray_tmp: Path
) -> None:
    # csv tests + file prompts; defaultTest + chat file + $ref + inline python/javascript
    # assertions (code assertions: the CLI's run allows them); jsonl tests
    for name, cells in (("simple-csv", 4), ("simple-test", 10), ("jsonl-test-cases", 2)):
        config = CORPUS / name / "promptfooconfig.yaml"
        out = autoforge(
            tmp_path,
            ray_tmp,
            "eval",
            str(config),
            "--model-map",
            "*=openai/sim-small",
            "--skip-unsupported",
            "--json",
        )
        assert out.returncode in (0, 1), out.stderr
        summary = json.loads(out.stdout[out.stdout.index("{\n") :])
        assert summary["status"] == "completed"
        assert sum(g["n_cells"] for g in summary["report"]["groups"]) == cells
        listed = autoforge(tmp_path, ray_tmp, "run", "show", summary["run_id"], "--json")
        assert json.loads(listed.stdout)["recorded_cells"] == cells


def test_an_unsupported_construct_refuses_before_any_call(tmp_path: Path, ray_tmp: Path) -> None:
    config = CORPUS / "json-output" / "promptfooconfig.yaml"
    out = autoforge(tmp_path, ray_tmp, "eval", str(config), "--model-map", "*=openai/sim-small")
    assert out.returncode == 2
    assert "tests[1].assert[2]" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "reports").exists()


def test_import_writes_an_eval_file_that_runs(tmp_path: Path, ray_tmp: Path) -> None:
    config = CORPUS / "csv-metadata" / "promptfooconfig.yaml"
    out_dir = tmp_path / "kept"
    made = autoforge(
        tmp_path,
        ray_tmp,
        "import",
        "promptfoo",
        str(config),
        "--out",
        str(out_dir),
        "--model-map",
        "*=openai/sim-small",
    )
    assert made.returncode == 0, made.stderr
    rows = [json.loads(line) for line in (out_dir / "cases.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and rows[0]["scorers"][0]["type"] == "contains"
    again = autoforge(tmp_path, ray_tmp, "eval", str(out_dir / "eval.yaml"), "--json")
    assert again.returncode in (0, 1), again.stderr
    summary = json.loads(again.stdout[again.stdout.index("{\n") :])
    assert summary["status"] == "completed"
