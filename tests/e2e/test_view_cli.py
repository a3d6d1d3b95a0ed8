"""`autoforge view` as a user runs it: it serves the viewer on loopback over the data dir's
engine, with no auth, and refuses any other address."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.browser.seeding import seed_run
from tests.e2e.cli import autoforge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_view_serves_the_data_dirs_runs_on_loopback(tmp_path: Path, ray_tmp: Path) -> None:
    from engine.sdk import Engine

    engine = Engine(data_dir=tmp_path, executor="inline")
    seeded = seed_run(engine, cases=5)
    engine.close()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTOFORGE_", "RAY_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path), RAY_TMPDIR=str(ray_tmp))
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    viewer = subprocess.Popen(
        [sys.executable, "-u", "-m", "api.cli", "view", "--port", "0", "--no-open"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert viewer.stdout is not None
        url = ""
        for line in viewer.stdout:
            found = re.search(r"viewer at (http://127\.0\.0\.1:\d+/ui)", line)
            if found:
                url = found.group(1)
                break
        assert url, "autoforge view printed no URL"
        runs = httpx.get(url, timeout=30)
        assert runs.status_code == 200 and "capitals seeded" in runs.text
        run = httpx.get(f"{url}/runs/{seeded.run_id}", timeout=30)
        assert run.status_code == 200 and "case-00004" in run.text
    finally:
        viewer.send_signal(signal.SIGINT)  # Ctrl-C: the engine closes, the exit code says so
        assert viewer.wait(timeout=30) == 130


def test_view_refuses_an_address_beyond_loopback(tmp_path: Path, ray_tmp: Path) -> None:
    refused = autoforge(tmp_path, ray_tmp, "view", "--host", "0.0.0.0", "--no-open", timeout=60)
    assert refused.returncode != 0
    assert "loopback only" in refused.stderr
    assert "Traceback" not in refused.stderr
