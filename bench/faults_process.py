"""Processes `bench/faults.py` starts: drivers and CLI commands, each with its process tree.

The bench must stop what it started and nothing else: every process descended from a child
it spawned is remembered while it runs (Ray workers, raylet, redis-server), and whatever of
that tree is still alive at the end is killed, by pid and start time.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_OUR_SETTINGS = ("REDIS_URL", "DATABASE_URL", "RAY_ADDRESS")


def child_env(data_dir: Path) -> dict[str, str]:
    """The environment of a child on ``data_dir``: embedded services, quiet logs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTOFORGE_") and k not in _OUR_SETTINGS
    }
    env.update(
        AUTOFORGE_DATA_DIR=str(data_dir),
        AUTOFORGE_LOG_LEVEL="WARNING",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p),
    )
    return env


class ProcessTree:
    """Remembers a child's descendants so they can be reaped after the child is gone."""

    def __init__(self, pid: int) -> None:
        self.seen: dict[int, float] = {}
        self.root = pid
        self.track()

    def track(self) -> None:
        with suppress(psutil.Error):
            root = psutil.Process(self.root)
            for proc in [root, *root.children(recursive=True)]:
                with suppress(psutil.Error):
                    self.seen.setdefault(proc.pid, proc.create_time())

    def alive(self) -> list[psutil.Process]:
        living = []
        for pid, created in self.seen.items():
            with suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    living.append(proc)
        return living

    def reap(self, grace_s: float = 10.0) -> None:
        """Wait ``grace_s`` for the tree to exit on its own, then SIGKILL what is left."""
        _, living = psutil.wait_procs(self.alive(), timeout=grace_s)
        for proc in living:
            with suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(living, timeout=5)


class DriverProcess:
    """A `faults_driver.py` child: its JSON events, its stdin commands, its tree."""

    def __init__(self, argv: list[str], data_dir: Path, index: int) -> None:
        self.index = index
        self.error: str | None = None
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.log_path = data_dir / f"driver{index}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=child_env(data_dir),
        )
        self.tree = ProcessTree(self.proc.pid)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.tree.track()
            with suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "error":
                    self.error = str(event.get("error"))
                self.events.put(event)

    def wait_event(self, name: str, timeout: float) -> dict[str, Any] | None:
        """The next event called ``name``; None on timeout or when the driver exited first."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            self.tree.track()
            try:
                event = self.events.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self.alive() and self.events.empty():
                    return None
                continue
            if event.get("event") == name:
                return event
        return None

    def alive(self) -> bool:
        self.tree.track()
        return self.proc.poll() is None

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        with suppress(OSError):
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the driver itself (the fault), then wait for its tree to go."""
        self.tree.track()
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.tree.reap()

    def last_words(self) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return self.error or (text[-1][:200] if text else f"exit {self.proc.poll()}")

    def stop(self, grace_s: float = 15.0) -> None:
        """Ask the driver to exit (it closes its engine), then SIGTERM, then SIGKILL its tree.

        A driver still waiting on a run that nobody works on only sees ``exit`` after its
        ``--wait-timeout``: the grace is shorter, and what is left of its tree is reaped.
        """
        self.send("exit")
        with suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        for ending in (None, self.proc.terminate, self.proc.kill):
            if ending is not None:
                ending()
            try:
                self.proc.wait(grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        self.tree.reap()
        self._log.close()


def autoforge_command() -> list[str]:
    script = Path(sys.executable).with_name("autoforge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def run_cli(args: list[str], data_dir: Path, timeout: float) -> tuple[int | None, str]:
    """Run ``autoforge ARGS`` on ``data_dir``; returns its exit code and last output line."""
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [*autoforge_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(data_dir),
    )
    tree = ProcessTree(proc.pid)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tree.track()
            lines.append(line.rstrip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        tree.track()
        time.sleep(0.1)
    code = proc.poll()
    if code is None:
        proc.kill()
        proc.wait()
    tree.reap(grace_s=5.0)
    reader.join(5)
    useful = [line for line in lines if line.strip()]
    return code, (useful[-1][:160] if useful else "")
