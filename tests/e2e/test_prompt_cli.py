"""`autoforge prompt …` as a user runs it: separate processes, embedded services, a data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def autoforge(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTOFORGE_", "RAY_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        AUTOFORGE_DATA_DIR=str(data_dir),
        AUTOFORGE_RAY_NUM_CPUS="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "prompt", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_create_commit_log_and_diff_from_the_command_line(tmp_path: Path) -> None:
    template = tmp_path / "greeter.txt"
    template.write_text("Say hello to {{ name }}.\nBe kind.\n", encoding="utf-8")

    created = autoforge(
        tmp_path, "create", "greeter", "--template-file", str(template), "--model", "gpt-4o-mini"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created prompt greeter")

    committed = autoforge(
        tmp_path,
        "commit",
        "greeter",
        "--template",
        "Say hi to {{ name }}.\nBe kind.\n",
        "--temperature",
        "0.3",
        "-m",
        "shorter",
    )
    assert committed.returncode == 0, committed.stderr
    assert committed.stdout.startswith("[main v2 ")

    log = autoforge(tmp_path, "log", "greeter", "--json")
    assert log.returncode == 0, log.stderr
    versions = json.loads(log.stdout)
    assert [v["number"] for v in versions] == [2, 1]
    assert [v["message"] for v in versions] == ["shorter", "Initial version"]
    assert versions[0]["settings"] == {"model": "gpt-4o-mini", "temperature": 0.3}
    assert versions[0]["parents"] == [versions[1]["id"]]

    diff = autoforge(tmp_path, "diff", "greeter", versions[1]["id"][:12], "main")
    assert diff.returncode == 0, diff.stderr
    assert "-Say hello to {{ name }}." in diff.stdout
    assert "+Say hi to {{ name }}." in diff.stdout
    assert '+  "temperature": 0.3' in diff.stdout

    missing = autoforge(tmp_path, "show", "nope")
    assert missing.returncode == 1
    assert missing.stderr == "autoforge: not-found: prompt 'nope' not found\n"
