"""Both Serve applications on a free loopback port, deployed as `autoforge serve` does."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from domain.llm import Catalogue


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def hs256_overrides(
    data: Path, redis_url: str, secret: str, catalogue: Catalogue | None = None, **extra: Any
) -> dict[str, Any]:
    """Replica settings: a fresh libSQL file in ``data``, shared Redis, hs256 auth, and the
    ``catalogue`` (written to a file the replica reads) when one is given. The secret is
    among them, as `autoforge serve` hands it to `deploy`, which keeps it out of bind args."""
    overrides = {
        "data_dir": str(data),
        "database_url": f"sqlite+libsql:///{data / 'api.db'}",
        "redis_url": redis_url,
        "auth_mode": "hs256",
        "auth_hs256_secret": secret,
        **extra,
    }
    if catalogue is not None:
        path = data / "catalogue.json"
        path.write_text(json.dumps(catalogue.to_dict()), encoding="utf-8")
        overrides["catalogue_path"] = str(path)
    return overrides


@contextmanager
def serving(overrides: dict[str, Any], **deploy_options: Any) -> Iterator[str]:
    """The base URL of both applications, ready; Serve is shut down afterwards."""
    from ray import serve

    from api.serve import deploy

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        holder = deploy(overrides, **deploy_options)  # noqa: F841 (replicas read secrets from it)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ready")
        wait_until_up(f"{base}/v1/streams/health")
        yield base
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
