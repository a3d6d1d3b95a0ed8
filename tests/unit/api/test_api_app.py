"""The app Serve hosts, built in-process on the session's real Redis and a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices, StaticRunOwners
from engine.db import create_db_engine, migrate
from engine.keys import Keyring, new_master_key
from engine.settings import Settings

pytestmark = [pytest.mark.integration]

SECRET = "x" * 40
KEY = "sk-proj-0123456789abcdef"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite+libsql:///{tmp_path_factory.mktemp('api') / 'api.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {"auth_mode": "hs256", "auth_hs256_secret": SECRET, **overrides}
    return ApiSettings(**values)


@pytest.fixture
def make_client(db: Engine, redis_url: str) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(redis: str = redis_url, **overrides: Any) -> TestClient:
        services = ApiServices(
            settings=Settings(data_dir=Path("/nonexistent")),
            api=_settings(**overrides),
            db=db,
            redis_url=redis,
            keyring=Keyring.parse(new_master_key("t1")),
            run_owner=StaticRunOwners({"r-app": "alice-app"}),
        )
        client = TestClient(create_app(services), client=("127.0.0.1", 40000))
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(_settings(), user)}"}


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_health_and_ready_need_no_token(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["checks"] == {"database": "ok", "redis": "ok"}


def test_ready_is_a_503_problem_when_redis_is_down(make_client: Callable[..., TestClient]) -> None:
    response = make_client(redis="redis://127.0.0.1:9/0").get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["checks"] == {"database": "ok", "redis": "unreachable"}


def test_without_redis_limits_fail_closed(make_client: Callable[..., TestClient]) -> None:
    response = make_client(redis="redis://127.0.0.1:9/0").get(
        "/v1/provider-keys", headers=_auth(_user())
    )
    assert response.status_code == 503
    assert response.json()["type"].endswith("/service-unavailable")


def test_protected_routes_want_a_bearer_token(make_client: Callable[..., TestClient]) -> None:
    response = make_client().get("/v1/provider-keys")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "ratelimit-limit" not in response.headers


def test_rate_limit_headers_then_429(make_client: Callable[..., TestClient]) -> None:
    client, headers = make_client(rate_limit_per_minute=3), _auth(_user())
    remaining = [client.get("/v1/provider-keys", headers=headers) for _ in range(3)]
    assert [r.headers["ratelimit-remaining"] for r in remaining] == ["2", "1", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in remaining)
    assert all(r.headers["cache-control"] == "no-store" for r in remaining)
    refused = client.get("/v1/provider-keys", headers=headers)
    assert refused.status_code == 429 and refused.json()["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    other = client.get("/v1/provider-keys", headers=_auth(_user()))
    assert other.status_code == 200


def test_provider_keys_round_trip(make_client: Callable[..., TestClient]) -> None:
    client, alice, bob = make_client(), _auth(_user()), _auth(_user())
    created = client.put("/v1/provider-keys/openai", json={"api_key": KEY}, headers=alice)
    assert created.status_code == 201 and created.json()["last4"] == "cdef"
    replaced = client.put("/v1/provider-keys/openai", json={"api_key": KEY + "9"}, headers=alice)
    assert replaced.status_code == 200 and replaced.json()["last4"] == "def9"
    shown = client.get("/v1/provider-keys/openai", headers=alice)
    assert shown.json()["last4"] == "def9" and KEY not in shown.text
    assert client.get("/v1/provider-keys/openai", headers=bob).status_code == 404
    assert client.delete("/v1/provider-keys/openai", headers=bob).status_code == 404
    assert client.get("/v1/provider-keys", headers=bob).json()["items"] == []
    assert client.delete("/v1/provider-keys/openai", headers=alice).status_code == 204
    assert client.get("/v1/provider-keys/openai", headers=alice).status_code == 404


def test_provider_keys_list_is_paginated(make_client: Callable[..., TestClient]) -> None:
    client, alice = make_client(), _auth(_user())
    for provider in ("openai", "anthropic", "mistral"):
        client.put(f"/v1/provider-keys/{provider}", json={"api_key": KEY}, headers=alice)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/provider-keys", params=params, headers=alice).json()
        seen += [item["provider"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["anthropic", "mistral", "openai"]


def test_invalid_provider_name_and_short_key(make_client: Callable[..., TestClient]) -> None:
    client, alice = make_client(), _auth(_user())
    bad_name = client.put("/v1/provider-keys/Open%20AI", json={"api_key": KEY}, headers=alice)
    assert bad_name.status_code == 422
    short = client.put("/v1/provider-keys/openai", json={"api_key": "sk-1"}, headers=alice)
    assert short.status_code == 422 and "sk-1" not in short.text


def test_openapi_is_public_and_complete(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and operation["tags"], (method, path)
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (path, status)
                    assert "example" in response["content"][PROBLEM_MEDIA_TYPE]
            if path.startswith("/v1/"):
                assert {"401", "422", "429"} <= set(operation["responses"]), path
                assert operation["security"] == [{"HTTPBearer": []}]


def test_no_auth_mode_is_user_local_on_loopback(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth_mode="none", auth_hs256_secret=None)
    client.put("/v1/provider-keys/local-llm", json={"api_key": KEY}, headers={})
    assert client.get("/v1/provider-keys/local-llm").json()["last4"] == "cdef"


def test_websocket_replays_then_follows(
    make_client: Callable[..., TestClient], redis_client: Any
) -> None:
    client, key = make_client(), "af:run:r-app:events"
    redis_client.delete(key)
    ids = [redis_client.xadd(key, {"type": "cell.done", "n": str(n)}) for n in range(3)]
    url = f"/v1/streams/runs/r-app/events?from={ids[0]}"
    with client.websocket_connect(url, headers=_auth("alice-app")) as socket:
        assert [socket.receive_json()["data"]["n"] for _ in range(2)] == ["1", "2"]
        live = redis_client.xadd(key, {"type": "run.done"})
        assert socket.receive_json() == {
            "id": live,
            "event": "run.done",
            "data": {"type": "run.done"},
        }


@pytest.mark.parametrize("user, code", [("someone-else", 4404), (None, 4401)])
def test_websocket_refusals_close_with_4000_plus_status(
    make_client: Callable[..., TestClient], user: str | None, code: int
) -> None:
    headers = _auth(user) if user else {}
    with pytest.raises(WebSocketDisconnect) as closed:
        with make_client().websocket_connect(
            "/v1/streams/runs/r-app/events", headers=headers
        ) as ws:
            ws.receive_json()
    assert closed.value.code == code
