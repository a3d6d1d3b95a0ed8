"""`autoforge serve` in hs256 mode leaves no secret in any file Ray or the engine writes.

Ray's runtime-env agent logs every `runtime_env` (env vars included) to a 0644 file under a
0777 temp dir, and Serve records deployment arguments in its own logs: a secret handed to
replicas either way is readable by every local user. This drives the real command in its
own process, with its own Ray temp dir, and greps every file left behind.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from tests.e2e.serving import free_port, wait_until_up

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HS256_SECRET = "hs256-canary-" + "q" * 32
MASTER_KEY = base64.b64encode(b"master-key-canary-32-bytes-long!").decode()
PROVIDER_KEY = "sk-provider-canary-0123456789"
STORED_KEY = "sk-stored-canary-0123456789abcd"  # a user's key: only its ciphertext is stored
CANARIES = (HS256_SECRET, MASTER_KEY, PROVIDER_KEY, STORED_KEY)


def _serve_env(data: Path, ray_tmp: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTOFORGE_", "RAY_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        AUTOFORGE_DATA_DIR=str(data),
        AUTOFORGE_RAY_NUM_CPUS="1",
        AUTOFORGE_API_PORT=str(port),
        AUTOFORGE_AUTH_MODE="hs256",
        AUTOFORGE_AUTH_HS256_SECRET=HS256_SECRET,
        AUTOFORGE_SECRET_KEYS=f"canary:{MASTER_KEY}",
        OPENAI_API_KEY=PROVIDER_KEY,
        RAY_TMPDIR=str(ray_tmp),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    return env


def _files_holding(roots: list[Path], canaries: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                content = path.read_bytes()
            except OSError:
                continue
            hits = [c for c in canaries if c.encode() in content]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_no_secret_reaches_a_file_ray_or_the_engine_writes(tmp_path: Path, ray_tmp: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=_serve_env(data, ray_tmp, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its Ray and Redis children go with its process group
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ready", timeout_s=240)
        settings = ApiSettings(auth_mode="hs256", auth_hs256_secret=HS256_SECRET)
        headers = {"Authorization": f"Bearer {create_token(settings, 'alice')}"}
        # The replicas did get the signing secret and the master keys, just not through a file.
        stored = httpx.put(
            f"{base}/v1/provider-keys/openai",
            json={"api_key": STORED_KEY},
            headers=headers,
            timeout=30,
        )
        assert stored.status_code == 201, stored.text
        listed = httpx.get(f"{base}/v1/provider-keys", headers=headers, timeout=30)
        assert listed.status_code == 200, listed.text
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert not any(c in output.decode(errors="replace") for c in CANARIES)
    assert list(ray_tmp.rglob("runtime_env_agent*.log")), "Ray wrote no logs where expected"
    assert _files_holding([ray_tmp, data], CANARIES) == {}
