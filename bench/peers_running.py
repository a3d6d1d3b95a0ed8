"""The "running engine" runner: a fresh client process against ``autoforge engine start``.

Only where ``autoforge engine`` is a command (branch ``daemon``); `available` tells. The
engine is started on the measurement's data dir before the clock and stopped after it; the
client is ``peers_engine.py --data-dir D``, a user's script that finds the running engine.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def available(autoforge: Path) -> bool:
    """Whether this install has ``autoforge engine start|status|stop``."""
    done = subprocess.run(
        [str(autoforge), "engine", "--help"], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and "start" in done.stdout


@contextmanager
def running_engine(autoforge: Path, data_dir: Path, env: Mapping[str, str]) -> Iterator[None]:
    """``autoforge engine start --data-dir D`` until the block ends, then ``stop``."""
    args = ["--data-dir", str(data_dir)]

    def engine(action: str, check: bool) -> None:
        # stdout is the benchmark's own (its --json document): the command's lines go to stderr
        command = [str(autoforge), "engine", action, *args]
        subprocess.run(command, env=dict(env), stdout=sys.stderr, check=check)

    engine("start", check=True)
    try:
        yield
    finally:
        engine("stop", check=False)
