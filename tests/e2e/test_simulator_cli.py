"""`autoforge simulator --port N`, as the README writes it, serves on that port."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from engine.simulator._runners import URL_PREFIX
from tests.e2e.serving import free_port, wait_until_up

pytestmark = [pytest.mark.e2e]


def test_autoforge_simulator_serves_on_the_port_it_is_given() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "simulator", "--port", str(port), "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"{URL_PREFIX}http://127.0.0.1:{port}"
        wait_until_up(f"http://127.0.0.1:{port}/health", timeout_s=30)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()
        assert "sim-small" in {m["id"].split("/")[-1] for m in models["data"]}
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
