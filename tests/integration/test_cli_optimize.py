"""`autoforge optimize FILE` and `autoforge optimizations …` as a user types them: a real
subprocess on a fresh data dir (embedded Redis, a database file, the file's own simulator)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data_dir import SERVICES_FILE
from tests.integration.drivers import driver_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "optimize" / "optimize.yaml"


def autoforge(data: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = driver_env(data, api_base="", executor="inline")
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and text in done.stderr, done.stderr[-2000:]


@pytest.fixture(scope="module")
def optimized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """The example optimized once (few calls, the `random` control), its report in a file."""
    data = tmp_path_factory.mktemp("cli-opt")
    out = data / "report.json"
    done = autoforge(
        data, "optimize", str(EXAMPLE), "--max-metric-calls", "60", "--optimizer", "random",
        "--seed", "3", "--format", "json", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    started = next(line for line in done.stderr.splitlines() if line.startswith("optimization "))
    return data, started.split()[1], out


def test_optimize_writes_the_report_where_asked(optimized: tuple[Path, str, Path]) -> None:
    _, opt_id, out = optimized
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["kind"] == "optimization" and report["optimization"]["id"] == opt_id
    info = report["optimization"]
    assert info["optimizer"] == "random" and info["config"]["seed"] == 3
    assert 0 < info["calls"] <= info["max_metric_calls"] == 60
    assert report["candidates"][0]["id"] == "c0"


def test_optimizations_are_listed_shown_and_reported(
    optimized: tuple[Path, str, Path], tmp_path: Path
) -> None:
    data, opt_id, _ = optimized
    # `list` and `show` read the database alone: on a copy of just the database file they
    # answer the same and start no Redis (nor Ray) there.
    only_db = tmp_path / "only-db"
    only_db.mkdir(mode=0o700)
    shutil.copy(data / "autoforge.db", only_db / "autoforge.db")
    for where in (data, only_db):
        listed = autoforge(where, "optimizations", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [o["id"] for o in json.loads(listed.stdout)] == [opt_id]
        shown = autoforge(where, "optimizations", "show", opt_id)
        assert shown.stdout.startswith(f"{opt_id} (") and ": completed, random on " in shown.stdout
    assert not (only_db / "redis").exists() and not (only_db / SERVICES_FILE).exists()
    report = autoforge(data, "optimizations", "report", opt_id)
    assert report.stdout.startswith(f"# Optimization {opt_id}")
    assert "## Lineage" in report.stdout and "## Cost" in report.stdout


def test_promotion_says_what_it_did_and_resume_refuses_a_finished_one(
    optimized: tuple[Path, str, Path],
) -> None:
    data, opt_id, _ = optimized
    promoted = autoforge(data, "optimizations", "promote", opt_id, "production", "--json")
    result = json.loads(promoted.stdout)
    assert promoted.returncode == (0 if result["promoted"] else 1), promoted.stderr
    assert result["promoted"] or result["reason"] == "no significant improvement"
    one_line_error(autoforge(data, "optimizations", "resume", opt_id), "autoforge: conflict: ")


def test_bad_input_is_one_line_before_any_service_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "cases.jsonl").write_text('{"vars": {"a": 1}, "expected": "1"}\n')
    unknown_model = tmp_path / "model.yaml"
    unknown_model.write_text(
        "prompt: {name: p, template: '{{a}}'}\ndataset: cases.jsonl\n"
        "models: [openai/no-such-model]\nscorers: [equals]\n"
    )
    mistakes = tmp_path / "mistakes.yaml"
    mistakes.write_text("prompt: p\ndataset: missing.jsonl\nmodels: m\nsplit: [1]\n")
    for args, text in (
        (("optimize", str(tmp_path / "nope.yaml")), "not found"),
        (("optimize", str(mistakes)), "has 3 mistakes"),
        (("optimize", str(unknown_model)), "no-such-model"),
        (("optimize", str(EXAMPLE), "--alpha", "2"), "alpha must be between 0 and 1"),
    ):
        one_line_error(autoforge(data, *args), text)
    assert not (data / "redis").exists() and not (data / SERVICES_FILE).exists()
