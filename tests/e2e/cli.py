"""`autoforge` as a user runs it: a subprocess with a clean environment and its own Ray dir
(the `ray_tmp` fixture of `tests/e2e/conftest.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def autoforge(
    data: Path,
    ray_tmp: Path,
    *args: str,
    timeout: float = 180,
    cwd: Path | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run `autoforge ARGS` on data dir ``data``: none of this process's AUTOFORGE_, RAY_,
    database or Redis settings reach it; ``env`` adds settings of its own."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=clean_env(data, ray_tmp, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def clean_env(data: Path, ray_tmp: Path, **env: str) -> dict[str, str]:
    """The environment `autoforge` gets: this process's without its AUTOFORGE_, RAY_,
    database or Redis settings, on data dir ``data`` and Ray dir ``ray_tmp``, plus ``env``."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTOFORGE_", "RAY_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    clean.update(
        AUTOFORGE_DATA_DIR=str(data),
        AUTOFORGE_RAY_NUM_CPUS="1",
        RAY_TMPDIR=str(ray_tmp),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        **env,
    )
    return clean
