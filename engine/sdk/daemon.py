"""A local engine kept running for other processes: start it, ask after it, stop it.

`start_engine` launches ``python -m engine.sdk.daemon`` in its own session, its output
appended to ``engine.log`` (0600) in the data dir, and returns once that process owns the
data dir, answers on the control channel and has its actor pool. `stop_engine` sends it
SIGTERM and waits for it to let go of the data dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import ServiceUnavailableError
from engine.data_dir import PublishedServices, private_dir, private_file, process_alive
from engine.settings import Settings, load_settings

LOG_FILE = "engine.log"
START_TIMEOUT_S = 300.0
"""Ray, Redis and the actor pool: ~10 s here, minutes on a machine shared with test suites."""
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class EngineStatus:
    """A data dir's running engine as it describes itself.

    Attributes:
        pid: The engine process.
        data_dir: The data directory it owns.
        uptime_s: Seconds since it started.
        daemon: Started by `start_engine` (else a script or `autoforge eval` owns it).
        pool_ready: Its scheduler, evaluators and recorder exist.
        active_runs: Ids of the runs it works now.
    """

    pid: int
    data_dir: str
    uptime_s: float
    daemon: bool
    pool_ready: bool
    active_runs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "active_runs": list(self.active_runs)}


def engine_status(settings: Settings | None = None) -> EngineStatus | None:
    """The engine that owns the data dir of `settings`, or None when none runs there.

    Raises:
        ServiceUnavailableError: an engine owns it but does not answer.
    """
    from engine.control import ControlClient
    from engine.data_dir import published_owner

    settings = settings or load_settings()
    owner = published_owner(settings.data_dir)
    if owner is None:
        return None
    client = ControlClient(_redis_url(owner, settings), _control(owner), owner.pid)
    answer = client.status()
    return EngineStatus(
        pid=int(answer["pid"]),
        data_dir=str(answer["data_dir"]),
        uptime_s=float(answer["uptime_s"]),
        daemon=bool(answer["daemon"]),
        pool_ready=bool(answer["pool_ready"]),
        active_runs=tuple(answer["active_runs"]),
    )


def start_engine(
    settings: Settings | None = None, *, timeout_s: float = START_TIMEOUT_S
) -> EngineStatus:
    """Start a background engine on the data dir of `settings` and wait until it serves.

    Raises:
        ServiceUnavailableError: ``reason="data-dir-busy"`` when an engine already owns the
            data dir; otherwise the engine exited or was not ready in time (see its log).
    """
    from engine.data_dir import LOCK_FILE, try_lock, unlock

    settings = settings or load_settings()
    directory = private_dir(settings.data_dir)
    fd = try_lock(directory / LOCK_FILE)
    if fd is None:
        raise _busy(settings)
    unlock(fd)
    log_path = private_file(directory / LOG_FILE)
    env = {**os.environ, "AUTOFORGE_DATA_DIR": str(directory)}
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "engine.sdk.daemon"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the starting shell must not reach it
        )
    deadline = time.monotonic() + timeout_s
    while True:
        if child.poll() is not None:
            raise ServiceUnavailableError(
                f"the engine exited during start ({_last_line(log_path)}); see {log_path}",
                reason="engine-start",
            )
        status = _answer_of(settings, child.pid)
        if status is not None and status.pool_ready:
            return status
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(
                f"the engine (pid {child.pid}) was not ready within {timeout_s:.0f} s; "
                f"see {log_path}",
                reason="timeout",
            )
        time.sleep(0.1)


def stop_engine(
    settings: Settings | None = None, *, timeout_s: float = STOP_TIMEOUT_S
) -> int | None:
    """Stop the background engine of the data dir; returns its pid, None if none ran.

    Raises:
        ServiceUnavailableError: ``reason="not-a-daemon"`` when a script or command owns the
            data dir (it stops with it), or ``"timeout"`` when the engine is still up.
    """
    settings = settings or load_settings()
    status = engine_status(settings)
    if status is None:
        return None
    if not status.daemon:
        raise ServiceUnavailableError(
            f"the data dir is owned by process {status.pid}, not a started engine: it stops "
            "when that command or script ends",
            reason="not-a-daemon",
        )
    os.kill(status.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while process_alive(status.pid):
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(
                f"the engine (pid {status.pid}) did not stop within {timeout_s:.0f} s",
                reason="timeout",
            )
        time.sleep(0.05)
    return status.pid


def _answer_of(settings: Settings, pid: int) -> EngineStatus | None:
    from engine.data_dir import published_owner

    owner = published_owner(settings.data_dir)
    if owner is None or owner.pid != pid:
        return None
    try:
        return engine_status(settings)
    except ServiceUnavailableError:
        return None


def _last_line(path: Path) -> str:
    """The engine's last words: its one-line error (our messages carry no secret)."""
    lines = path.read_text(errors="replace").strip().splitlines()
    return lines[-1][:500] if lines else "no output"


def _busy(settings: Settings) -> ServiceUnavailableError:
    from engine.data_dir import published_owner

    owner = published_owner(settings.data_dir)
    who = f"process {owner.pid}" if owner is not None else "another process"
    return ServiceUnavailableError(
        f"{settings.data_dir} already has an owner ({who}): `autoforge engine status`",
        reason="data-dir-busy",
    )


def _control(owner: PublishedServices) -> str:
    if owner.control is None:
        raise ServiceUnavailableError(
            f"the engine (pid {owner.pid}) that owns the data dir serves no control channel "
            "(an older version?)",
            reason="data-dir-busy",
        )
    return owner.control


def _redis_url(owner: PublishedServices, settings: Settings) -> str:
    url = owner.redis_url or settings.redis_url
    if url is None:
        raise ServiceUnavailableError(
            f"the engine (pid {owner.pid}) uses an external Redis: set AUTOFORGE_REDIS_URL",
            reason="data-dir-busy",
        )
    return url


def _main() -> int:
    from domain.errors import NexusError
    from engine.logs import configure_logging
    from engine.sdk.engine import Engine

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("AUTOFORGE_RAY_LOG_TO_DRIVER", "false")
    try:
        settings = load_settings()
        configure_logging(settings.log_level, "json")
        engine = Engine(settings=settings)
        if not engine.runtime.owns_data_dir:
            engine.close()
            raise _busy(settings)
        engine.serve_forever()
    except NexusError as exc:
        sys.stderr.write(f"autoforge: {exc.code}: {exc.message}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
