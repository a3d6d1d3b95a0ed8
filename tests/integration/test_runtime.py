from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.drivers import last_json_line

pytestmark = pytest.mark.integration

_SCRIPT = """
import json, os, sys, psutil
from engine.runtime import Runtime
rt = Runtime().start()
rt.redis.set("k", "v")
me = psutil.Process()
pids = [p.pid for p in me.children(recursive=True)]
print(json.dumps({"pids": pids, "revision": rt.schema_revision,
                  "cpus": rt.ray_resources.get("CPU"), "redis": rt.redis.get("k")}), flush=True)
rt.stop()
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_runtime_starts_all_services_and_leaves_no_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(
        AUTOFORGE_DATA_DIR=str(tmp_path), AUTOFORGE_RAY_NUM_CPUS="1", AUTOFORGE_EXECUTOR="ray"
    )
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report: dict[str, Any] = last_json_line(out.stdout)
    assert report["redis"] == "v" and report["cpus"] == 1.0 and report["revision"]
    names = {p: " ".join(psutil.Process(p).cmdline()) for p in report["pids"] if _alive(p)}
    assert report["pids"], "expected redis-server and Ray processes to have been started"
    deadline = time.monotonic() + 15
    while names and time.monotonic() < deadline:
        names = {p: n for p, n in names.items() if _alive(p)}
        time.sleep(0.2)
    assert names == {}, f"left behind: {names}"


def test_runtime_without_ray_uses_an_external_redis_url(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.runtime import Runtime
    from engine.settings import load_settings

    monkeypatch.setenv("REDIS_URL", redis_url)
    settings = load_settings(data_dir=tmp_path)
    with Runtime(settings, start_ray=False) as rt:
        assert rt.embedded_redis is None
        assert rt.redis.ping()
        assert rt.schema_revision
    assert rt.db is None
