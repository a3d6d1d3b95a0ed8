"""`autoforge cluster local`: a 3-node cluster and an external Redis from one command, an eval
run on it by the printed addresses, and `--stop` leaving no process behind."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from tests.e2e.cli import autoforge, clean_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _ours(ray_tmp: Path) -> list[psutil.Process]:
    """Live processes started under this test's Ray dir (raylets, GCS, workers)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(ray_tmp) in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_a_local_cluster_runs_an_eval_and_stops_cleanly(tmp_path: Path, ray_tmp: Path) -> None:
    data = tmp_path / "data"
    cluster = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "cluster", "local", "--nodes", "3", "--json"],
        env=clean_env(data, ray_tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cluster.stdout is not None
        line = cluster.stdout.readline()
        assert line, cluster.stderr.read() if cluster.stderr else ""
        info = json.loads(line)
        assert info["nodes"] == 3
        assert len(set(info["metrics_targets"])) == 3
        for target in info["metrics_targets"]:  # each node's Ray metrics agent answers
            with urllib.request.urlopen(f"http://{target}/metrics", timeout=10) as response:
                assert response.status == 200
        assert (data / "cluster-local.json").stat().st_mode & 0o077 == 0
        again = autoforge(data, ray_tmp, "cluster", "local", "--nodes", "2")
        assert again.returncode == 1 and "already runs" in again.stderr

        addresses = {"RAY_ADDRESS": info["ray_address"], "REDIS_URL": info["redis_url"]}
        ran = autoforge(
            tmp_path / "client",
            ray_tmp,
            "eval",
            "examples/arithmetic/eval.yaml",
            "--json",
            cwd=REPO,
            timeout=240,
            **addresses,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        report = json.loads(ran.stdout)
        assert report["passed"] is True
        run_id = report["run_id"]
        assert report["status"] == "completed"
        # The run's streams live in the cluster's Redis; its actors on the cluster's 3 CPUs.
        client = redis.Redis.from_url(info["redis_url"])
        assert any(run_id in key.decode() for key in client.scan_iter(match="af:*", count=1000))
        client.close()
        assert '"cpus": 3.0' in ran.stderr

        stopped = autoforge(data, ray_tmp, "cluster", "local", "--stop")
        assert stopped.returncode == 0, stopped.stderr
        assert cluster.wait(timeout=60) == 0
        assert not (data / "cluster-local.json").exists()
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(info["redis_url"], socket_connect_timeout=1).ping()
        psutil.wait_procs(_ours(ray_tmp), timeout=30)
        assert _ours(ray_tmp) == []
        none = autoforge(data, ray_tmp, "cluster", "local", "--stop")
        assert none.returncode == 3
    finally:
        if cluster.poll() is None:
            cluster.terminate()
            cluster.wait(timeout=60)
        for process in _ours(ray_tmp):
            process.kill()
