"""`autoforge serve --simulator`: the API tried offline, with no catalogue written by hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from engine.cli.demo_data import demo_cases
from tests.e2e.serving import free_port, wait_until_up
from tests.e2e.test_serve_secrets import _serve_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "serve-simulator-" + "s" * 32


def test_serve_with_the_simulator_runs_an_evaluation_offline(
    tmp_path: Path,
    ray_tmp: Path,
) -> None:
    port = free_port()
    env = _serve_env(tmp_path / "data", ray_tmp, port)
    env.update(AUTOFORGE_AUTH_HS256_SECRET=SECRET)
    env.pop("OPENAI_API_KEY")
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--simulator", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its Ray and Redis children go with its process group
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ready", timeout_s=240)
        token = create_token(ApiSettings(auth_mode="hs256", auth_hs256_secret=SECRET), "alice")
        http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=180
        )
        assert httpx.get(f"{base}/v1/scorers", timeout=30).status_code == 401
        scorers = http.get("/v1/scorers").json()["items"]
        regex = next(s for s in scorers if s["name"] == "regex")
        assert {a["name"]: a["required"] for a in regex["arguments"]} == {
            "pattern": True,
            "flags": False,
        }
        models = {m["name"] for m in http.get("/v1/models").json()["models"]}
        assert {"openai/sim-small", "openai/sim-large"} <= models
        http.post("/v1/prompts", json={"name": "qa", "template": "{{question}}"}).raise_for_status()
        http.post("/v1/datasets", json={"name": "qa"}).raise_for_status()
        http.post("/v1/datasets/qa/versions", json={"cases": demo_cases(4)}).raise_for_status()
        body = {"prompt": "qa", "dataset": "qa", "models": ["openai/sim-small"]}
        started = http.post("/v1/runs", json={**body, "scorers": ["icontains"]})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 120
        while (run := http.get(f"/v1/runs/{run_id}").json())["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
        assert run["status"] == "completed" and run["recorded_cells"] == 4
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert b"openai/sim-* models added to the catalogue" in output
