"""Limits per client address before authentication: bad-token floods and anonymous probes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices
from engine.db import create_db_engine, migrate
from engine.keys import Keyring, new_master_key
from engine.settings import Settings

pytestmark = [pytest.mark.integration]

SETTINGS = ApiSettings(auth_mode="hs256", auth_hs256_secret="y" * 40)  # type: ignore[arg-type]
BAD = {"Authorization": "Bearer not-a-token"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite+libsql:///{tmp_path_factory.mktemp('lim') / 'api.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_client(db: Engine, redis_url: str) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(host: str, **api: Any) -> TestClient:
        services = ApiServices(
            settings=Settings(data_dir=Path("/nonexistent")),
            db=db,
            redis_url=redis_url,
            keyring=Keyring.parse(new_master_key("t1")),
            api=SETTINGS.model_copy(update=api),
        )
        client = TestClient(create_app(services), client=(host, 40000))
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _address() -> str:
    # A fresh documentation-range address per test: windows live in the shared Redis.
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def _assert_429(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"] == "https://autoforge.dev/problems/rate-limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_failed_authentications_are_limited_per_address(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(_address(), auth_failures_per_minute=5)
    codes = [client.get("/v1/provider-keys", headers=BAD).status_code for _ in range(8)]
    assert codes == [401] * 5 + [429] * 3
    # Blocked before the token is even looked at: a good token from there waits too.
    good = {"Authorization": f"Bearer {create_token(SETTINGS, 'alice')}"}
    _assert_429(client.get("/v1/provider-keys", headers=good))
    # Another address is not affected.
    elsewhere = make_client(_address(), auth_failures_per_minute=5)
    assert elsewhere.get("/v1/provider-keys", headers=BAD).status_code == 401


def test_successful_requests_do_not_count_as_failures(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(_address(), auth_failures_per_minute=2)
    good = {"Authorization": f"Bearer {create_token(SETTINGS, f'u-{uuid.uuid4().hex[:6]}')}"}
    assert {client.get("/v1/provider-keys", headers=good).status_code for _ in range(5)} == {200}


def test_unauthenticated_routes_are_limited_per_address(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(_address(), anonymous_per_minute=3)
    assert [client.get("/health").status_code for _ in range(3)] == [200] * 3
    _assert_429(client.get("/health"))
    _assert_429(client.get("/ready"))


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    make_client: Callable[..., TestClient],
) -> None:
    peer = _address()
    spoofing = make_client(peer, auth_failures_per_minute=3)
    codes = [
        spoofing.get(
            "/v1/provider-keys", headers={**BAD, "X-Forwarded-For": _address()}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    proxy_host = _address()
    proxy = make_client(proxy_host, auth_failures_per_minute=3, trusted_proxies=[proxy_host])
    for _ in range(4):  # each request names a different client behind the trusted proxy
        forwarded = {**BAD, "X-Forwarded-For": f"{_address()}, {proxy_host}"}
        assert proxy.get("/v1/provider-keys", headers=forwarded).status_code == 401
