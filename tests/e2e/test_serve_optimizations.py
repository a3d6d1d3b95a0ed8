"""`autoforge serve --simulator`: an optimization started over HTTP through real Ray Serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from tests.e2e.serving import free_port, wait_until_up
from tests.e2e.test_serve_secrets import _serve_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "serve-optimizations-" + "s" * 32
MAX_CALLS = 120


def _optimize_over_http(http: httpx.Client) -> dict[str, Any]:
    from engine.simulator._families import FAMILIES

    family = FAMILIES["arithmetic"]
    prompt = {"name": "calc", "template": family.template, "system": family.system}
    http.post("/v1/prompts", json=prompt).raise_for_status()
    http.post("/v1/datasets", json={"name": "calc"}).raise_for_status()
    cases = [
        {"id": c["id"], "vars": c["variables"], "expected": c["expected"]}
        for c in family.cases(n=40, seed=0)
    ]
    http.post("/v1/datasets/calc/versions", json={"cases": cases}).raise_for_status()
    body = {
        "prompt": "calc",
        "dataset": "calc",
        "models": ["openai/sim-small"],
        "scorers": ["equals"],
        "optimizer": "gepa",
        "reflection_model": "openai/sim-reflector",
        "max_metric_calls": MAX_CALLS,
        "minibatch": 4,
        "seed": 0,
    }
    started = http.post("/v1/optimizations", json=body, headers={"Idempotency-Key": "serve-1"})
    assert started.status_code == 202, started.text
    opt_id = started.json()["id"]
    deadline = time.monotonic() + 180
    while (shown := http.get(f"/v1/optimizations/{opt_id}").json())["status"] in (
        "pending",
        "running",
    ):
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    return dict(shown)


def test_an_optimization_started_over_http_on_serve_finishes_within_its_calls(
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
        settings = ApiSettings(auth_mode="hs256", auth_hs256_secret=SECRET)
        alice = {"Authorization": f"Bearer {create_token(settings, 'alice')}"}
        http = httpx.Client(base_url=base, headers=alice, timeout=180)
        shown = _optimize_over_http(http)
        assert shown["status"] == "completed", shown
        assert 0 < shown["calls"] <= MAX_CALLS and shown["reflection_calls"] >= 1, shown
        assert shown["test_calls"] > 0  # the test split, counted apart from the calls
        assert shown["best_val_score"] >= shown["baseline_val_score"], shown
        url = f"/v1/optimizations/{shown['id']}"
        candidates = http.get(f"{url}/candidates").json()["items"]
        assert candidates[0]["id"] == "c0" and len(candidates) == shown["candidates"]
        report = http.get(f"{url}/report", params={"format": "markdown"})
        assert (
            report.status_code == 200 and "Test calls (outside the max and budget)" in report.text
        )
        bob = {"Authorization": f"Bearer {create_token(settings, 'bob')}"}
        assert httpx.get(f"{base}{url}", headers=bob, timeout=30).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
