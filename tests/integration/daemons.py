"""A background engine (``autoforge engine start``) on a test's data dir, stopped (or, if it
will not stop, killed: only the pid it published) when the test ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.data_dir import published_owner


def engine_env(data_dir: Path, catalogue: dict[str, Any]) -> dict[str, str]:
    """This environment for engines and clients on ``data_dir`` with ``catalogue``."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.pop("OPENAI_API_KEY", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir.parent / f"{data_dir.name}-catalogue.json"
    path.write_text(json.dumps(catalogue))
    env.update(
        AUTOFORGE_DATA_DIR=str(data_dir),
        AUTOFORGE_RAY_NUM_CPUS="2",
        AUTOFORGE_CATALOGUE_PATH=str(path),
    )
    return env


def engine_cli(env: dict[str, str], *args: str, timeout: float = 600) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "engine", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def running_engine(env: dict[str, str]) -> Iterator[int]:
    """Start the engine, yield its pid; stop it at the end."""
    started = engine_cli(env, "start", "--json")
    assert started.returncode == 0, started.stderr[-3000:]
    pid = int(json.loads(started.stdout)["pid"])
    try:
        yield pid
    finally:
        owner = published_owner(Path(env["AUTOFORGE_DATA_DIR"]))
        if owner is not None and owner.pid == pid:
            stopped = engine_cli(env, "stop", timeout=120)
            if stopped.returncode != 0:
                os.kill(pid, signal.SIGKILL)
