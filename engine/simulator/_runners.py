"""Ways to run the simulator beside a test or a program: a thread or a subprocess."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from domain.errors import ServiceUnavailableError
from engine.simulator._config import SimulatorConfig
from engine.simulator._server import Simulator

URL_PREFIX = "SIMULATOR_URL="
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_simulator(
    config: SimulatorConfig | None = None, *, startup_timeout: float = 10.0
) -> Iterator[Simulator]:
    """Run a simulator on its own event loop in a background thread.

    Args:
        config: Server behaviour; defaults to ``SimulatorConfig()``.
        startup_timeout: Seconds to wait for the port to be bound.

    Yields:
        The started ``Simulator`` (read ``url``, ``api_base``, ``stats()``).

    Examples:
        >>> with running_simulator(SimulatorConfig(rpm=50)) as sim:  # doctest: +SKIP
        ...     litellm.completion(model="openai/sim-small", api_base=sim.api_base, ...)
    """
    sim = Simulator(config)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(sim.start())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(sim.stop())
            loop.close()

    thread = threading.Thread(target=serve, name="simulator", daemon=True)
    thread.start()
    if not started.wait(startup_timeout):
        loop.call_soon_threadsafe(loop.stop)
        raise ServiceUnavailableError(f"simulator did not start within {startup_timeout}s")
    if failure:
        raise failure[0]
    try:
        yield sim
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def config_argv(config: SimulatorConfig) -> list[str]:
    """The ``python -m engine.cli.simulator`` flags that reproduce ``config``."""
    argv = [
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--latency-ms",
        str(config.latency_ms),
        "--jitter-ms",
        str(config.jitter_ms),
        "--error-rate",
        str(config.error_rate),
        "--timeout-rate",
        str(config.timeout_rate),
        "--timeout-hang-s",
        str(config.timeout_hang_s),
        "--tool-error-rate",
        str(config.tool_error_rate),
        "--seed",
        str(config.seed),
        "--window-s",
        str(config.window_s),
    ]
    if config.rpm is not None:
        argv += ["--rpm", str(config.rpm)]
    if config.tpm is not None:
        argv += ["--tpm", str(config.tpm)]
    return argv


def _read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    # Keep draining after the URL line so a chatty child never blocks on a full pipe.
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put("")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait_for_url(proc: subprocess.Popen[str], lines: queue.Queue[str], deadline: float) -> str:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceUnavailableError("simulator subprocess printed no URL in time")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line.startswith(URL_PREFIX):
            return line[len(URL_PREFIX) :].strip()
        if line == "":
            raise ServiceUnavailableError(
                f"simulator subprocess exited with code {proc.wait()} before serving"
            )


def _end(proc: subprocess.Popen[str], grace_s: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        with suppress(OSError):
            proc.stdout.close()


@contextmanager
def simulator_subprocess(
    config: SimulatorConfig | None = None, *, startup_timeout: float = 20.0
) -> Iterator[str]:
    """Run ``python -m engine.cli.simulator`` in a child process until the block ends.

    The child prints ``SIMULATOR_URL=http://127.0.0.1:PORT`` first; this waits for it and
    for ``/health``, then yields the URL. On exit it sends SIGTERM, then SIGKILL after 5 s.
    The child also exits by itself if this process dies (it watches its parent).

    Args:
        config: Server behaviour; defaults to ``SimulatorConfig()``.
        startup_timeout: Seconds to wait for the child to serve.

    Yields:
        The base URL (append ``/v1`` for an OpenAI ``api_base``).

    Raises:
        ServiceUnavailableError: If the child does not come up in time.
    """
    argv = [sys.executable, "-m", "engine.cli.simulator", *config_argv(config or SimulatorConfig())]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [*argv, "--exit-with-parent"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + startup_timeout
        url = _wait_for_url(proc, lines, deadline)
        while not _healthy(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise ServiceUnavailableError(f"simulator at {url} never became healthy")
            time.sleep(0.05)
        yield url
    finally:
        _end(proc)
