"""The data directory: private to its user, and owned by one engine process at a time.

The first process on a data dir takes an exclusive lock for its life and publishes the
services it runs (embedded Redis socket, Ray address) in `services.json`. A second process
joins those services instead of starting its own, so `autoforge run show` during a live
`autoforge eval` never touches the running engine. The kernel drops the lock when its holder
dies: a lock we could take proves that whatever a previous owner left behind is stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from domain.errors import ServiceUnavailableError
from engine.logs import get_logger

log = get_logger(__name__)
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
LOCK_FILE = "engine.lock"
SERVICES_FILE = "services.json"
# An owner publishes once its Redis and Ray are up: ~4 s here, far more on a loaded machine.
DEFAULT_JOIN_TIMEOUT_S = 120.0


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) as 0700; tighten it, with a warning, if it is looser.

    Tightening rather than refusing: a directory made by an older version, or by a umask of
    022, holds the database and the Redis socket, and refusing would leave them exposed.
    """
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if missing; tighten it, with a warning, if it is looser."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
    _tighten(path, PRIVATE_FILE_MODE)
    return path


def _tighten(path: Path, wanted: int) -> None:
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & ~wanted & 0o777 == 0:
        return
    # A shared directory (another user's, or sticky like /tmp) named as the data dir is
    # not ours to close: say so instead.
    if info.st_uid != os.geteuid() or mode & stat.S_ISVTX:
        log.warning("readable by other users and not ours to tighten", path=str(path))
        return
    try:
        path.chmod(mode & wanted)
    except PermissionError:
        log.warning("readable by other users and not ours to tighten", path=str(path))
        return
    log.warning("tightened permissions", path=str(path), was=oct(mode), now=oct(mode & wanted))


@dataclass(frozen=True)
class PublishedServices:
    """What a joining process needs to reach the owner's services (no secret in here)."""

    pid: int
    redis_url: str | None
    ray_address: str | None
    ray_auth_mode: str | None
    control: str | None = None
    """The deployment tag of the owner's control channel, when it serves one."""


class DataDirClaim:
    """This process's hold on a data directory: its owner, or a guest of the owner."""

    def __init__(self, directory: Path, fd: int | None, joined: PublishedServices | None):
        self.directory = directory
        self._fd = fd
        self.joined = joined

    @property
    def owner(self) -> bool:
        return self._fd is not None

    @property
    def services_file(self) -> Path:
        return self.directory / SERVICES_FILE

    @classmethod
    def acquire(cls, directory: Path, timeout_s: float = DEFAULT_JOIN_TIMEOUT_S) -> DataDirClaim:
        """Own `directory`, or join the live process that owns it.

        Raises:
            ServiceUnavailableError: another process holds it and published nothing in time.
        """
        private_dir(directory)
        lock_path = directory / LOCK_FILE
        deadline = time.monotonic() + timeout_s
        while True:
            fd = try_lock(lock_path)
            if fd is not None:
                claim = cls(directory, fd, None)
                with contextlib.suppress(FileNotFoundError):
                    claim.services_file.unlink()  # left by an owner that died
                return claim
            published = published_owner(directory)
            if published is not None:
                log.info("joining the engine that owns the data dir", pid=published.pid)
                return cls(directory, None, published)
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"data directory {directory} is locked by another engine process that "
                    f"did not publish its services within {timeout_s:.0f} s",
                    reason="data-dir-busy",
                )
            time.sleep(0.05)

    def publish(self, services: PublishedServices) -> None:
        """Tell later processes how to join (owner only); replaces the file atomically."""
        if not self.owner:
            return
        tmp = self.directory / f".{SERVICES_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(services), out)
        tmp.replace(self.services_file)

    def unpublish(self) -> None:
        """Stop new processes from joining (owner only): the services are about to stop."""
        if self.owner:
            with contextlib.suppress(FileNotFoundError):
                self.services_file.unlink()

    def release(self) -> None:
        """Unpublish, then drop the lock (owner); safe to call twice."""
        self.unpublish()
        fd, self._fd = self._fd, None
        if fd is not None:
            unlock(fd)


def try_lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created 0600) held by the returned fd, or None if taken.

    `flock` locks belong to the open file, so a second claim in the same process is refused
    too; the fd is not inherited by children, so a server we start cannot keep it held.
    """
    fd = os.open(private_file(path), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    """Drop a lock taken by `try_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def published_owner(directory: Path) -> PublishedServices | None:
    """What the live owner of ``directory`` published, read without claiming it; None when
    no live process published (nobody owns it, or its owner is still starting)."""
    published = _read_published(directory / SERVICES_FILE)
    return published if published is not None and process_alive(published.pid) else None


def _read_published(path: Path) -> PublishedServices | None:
    try:
        return PublishedServices(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
