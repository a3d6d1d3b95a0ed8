from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from domain.errors import ServiceUnavailableError
from engine.redis_embedded import EmbeddedRedis

pytestmark = pytest.mark.integration


def _wait_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_streams_and_consumer_groups_work(redis_client: redis.Redis) -> None:
    stream = "af:test:stream"
    redis_client.delete(stream)
    redis_client.xgroup_create(stream, "recorder", id="0", mkstream=True)
    redis_client.xadd(stream, {"cell": "1"})
    first = redis_client.xreadgroup("recorder", "dead-consumer", {stream: ">"}, count=1)
    assert first[0][1][0][1] == {"cell": "1"}
    claimed = redis_client.xautoclaim(stream, "recorder", "alive", min_idle_time=0)[1]
    assert claimed[0][1] == {"cell": "1"}


def test_start_and_stop_leave_nothing(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    pid = server.pid
    assert pid is not None
    assert redis.Redis.from_url(url).ping()
    server.stop()
    assert _wait_gone(pid)
    assert not server.socket_path.exists()


def test_long_data_dir_falls_back_to_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    with EmbeddedRedis(deep) as server:
        assert len(str(server.socket_path)) < 107
        assert redis.Redis.from_url(server.url).ping()


def test_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from engine.redis_embedded import EmbeddedRedis\n"
        f"s = EmbeddedRedis(Path({str(tmp_path)!r}))\n"
        "s.start()\n"
        "print(s.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    redis_pid = int(parent.stdout.readline())
    assert psutil.pid_exists(redis_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _wait_gone(redis_pid), "embedded redis outlived its killed parent"


def test_a_second_server_on_a_live_directory_refuses_and_leaves_the_first_alive(
    tmp_path: Path,
) -> None:
    with EmbeddedRedis(tmp_path) as first:
        pid = first.pid
        with pytest.raises(ServiceUnavailableError, match="another live process"):
            EmbeddedRedis(tmp_path).start()
        assert first.pid == pid and redis.Redis.from_url(first.url).ping()


def test_a_redis_whose_owner_died_is_stale_and_reaped(tmp_path: Path) -> None:
    stale = EmbeddedRedis(tmp_path)
    stale.start()
    stale_pid = stale.pid
    assert stale_pid is not None and stale._lock_fd is not None
    # What the kernel does to a killed owner: its lock goes, its server may stay (non-Linux).
    os.close(stale._lock_fd)
    stale._lock_fd, stale._process, stale._stopping = None, None, True
    with EmbeddedRedis(tmp_path) as fresh:
        assert _wait_gone(stale_pid)
        assert redis.Redis.from_url(fresh.url).ping()
