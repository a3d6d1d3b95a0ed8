"""What resolving the request's workspace costs, in-process (the real app on a libSQL file and
an embedded Redis, no Serve): `GET /v1/provider-keys` in the caller's personal workspace (known
after the first request: no database round trip) against the same call in a shared workspace
named by `X-Autoforge-Workspace` (a membership query in a worker thread), sequential.

    .venv/bin/python bench/workspace_resolve.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from engine.db import create_db_engine, migrate
from engine.keys import Keyring, new_master_key
from engine.redis_embedded import EmbeddedRedis
from engine.settings import Settings

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="b" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=10_000_000,
)


def _timed(client: TestClient, headers: dict[str, str], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.get("/v1/provider-keys", headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    return samples


def _line(name: str, samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"{name:<28} p50 {cuts[49]:6.2f} ms  p95 {cuts[94]:6.2f} ms  p99 {cuts[98]:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as redis:
        db = create_db_engine(f"sqlite+libsql:///{Path(tmp) / 'bench.db'}")
        migrate(db)
        services = ApiServices(
            settings=Settings(data_dir=Path(tmp)), db=db, redis_url=redis.url,
            keyring=Keyring.parse(new_master_key("b")), api=SETTINGS,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {create_token(SETTINGS, 'bench-user')}"}
        with TestClient(create_app(services), client=("127.0.0.1", 40100)) as client:
            team = client.post("/v1/workspaces", json={"name": "bench"}, headers=auth).json()
            shared = {**auth, "X-Autoforge-Workspace": team["id"]}
            _timed(client, auth, 50)
            _timed(client, shared, 50)  # warm-up
            personal_ms = _timed(client, auth, args.requests)
            shared_ms = _timed(client, shared, args.requests)
        services.close()
        db.dispose()
    print(f"{args.requests} sequential GET /v1/provider-keys, in-process")  # noqa: T201
    print(_line("personal workspace (cached)", personal_ms))  # noqa: T201
    print(_line("shared workspace (header)", shared_ms))  # noqa: T201


if __name__ == "__main__":
    main()
