"""The HTTP skeleton over real HTTP, hosted by Ray Serve on the session cluster (hs256 auth)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import StaticRunOwners
from tests.e2e.serving import hs256_overrides, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # one Serve start (~15 s) for the module

SECRET = "e2e-secret-" + "z" * 32
KEY = "sk-proj-e2e-0123456789wxyz"


@dataclass
class Api:
    base: str
    settings: ApiSettings
    owner: str

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(self.settings, user)}"}


@pytest.fixture(scope="module")
def api(
    ray_cluster: dict[str, Any], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("serve")
    overrides = hs256_overrides(data, redis_url, SECRET)
    owner = f"alice-{uuid.uuid4().hex[:6]}"
    # 127.0.0.1 stands for a reverse proxy of the operator's: its X-Forwarded-For is believed.
    api = {"trusted_proxies": ["127.0.0.1"]}
    with serving(overrides, api=api, run_owner=StaticRunOwners({"r1": owner})) as base:
        yield Api(base, ApiSettings(**overrides), owner)  # type: ignore[arg-type]


@pytest.fixture
def http(api: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base, timeout=10) as client:
        yield client


def _problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://autoforge.dev/problems/{kind}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_health_ready_and_docs_need_no_token(http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.json() == {"status": "ok"}
    assert len(health.headers.get_list("x-request-id")) == 1
    assert http.get("/ready").json()["status"] == "ready"
    assert http.get("/docs").status_code == 200
    assert http.get("/openapi.json").json()["info"]["title"] == "AutoForge Nexus API"


def test_protected_route_without_token_is_401(http: httpx.Client) -> None:
    response = http.get("/v1/provider-keys")
    _problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_61st_request_in_a_minute_is_429(api: Api, http: httpx.Client) -> None:
    headers = api.headers(f"busy-{uuid.uuid4().hex[:6]}")
    for n in range(60):
        response = http.get("/v1/provider-keys", headers=headers)
        assert response.status_code == 200, (n, response.text)
        assert response.headers["ratelimit-limit"] == "60"
        assert response.headers["ratelimit-remaining"] == str(59 - n)
    refused = http.get("/v1/provider-keys", headers=headers)
    _problem(refused, 429, "rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_oversized_bodies_are_413(api: Api, http: httpx.Client) -> None:
    headers = {**api.headers(api.owner), "content-type": "application/json"}
    declared = http.put(
        "/v1/provider-keys/openai", content=b"x" * (1024 * 1024 + 1), headers=headers
    )
    _problem(declared, 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536

    streamed = http.put("/v1/provider-keys/openai", content=chunks(), headers=headers)
    _problem(streamed, 413, "payload-too-large")


def test_malformed_json_is_400(api: Api, http: httpx.Client) -> None:
    headers = {**api.headers(api.owner), "content-type": "application/json"}
    response = http.put("/v1/provider-keys/openai", content=b'{"api_key": ', headers=headers)
    _problem(response, 400, "malformed-request")


def test_unknown_route_is_404(http: httpx.Client) -> None:
    _problem(http.get("/v1/no-such-thing"), 404, "not-found")


def test_provider_keys_round_trip_and_isolation(api: Api, http: httpx.Client) -> None:
    alice, bob = api.headers(api.owner), api.headers(f"bob-{uuid.uuid4().hex[:6]}")
    stored = http.put("/v1/provider-keys/anthropic", json={"api_key": KEY}, headers=alice)
    assert stored.status_code == 201 and stored.json()["last4"] == "wxyz"
    listed = http.get("/v1/provider-keys", headers=alice)
    assert [item["last4"] for item in listed.json()["items"]] == ["wxyz"]
    assert KEY not in stored.text + listed.text
    _problem(http.get("/v1/provider-keys/anthropic", headers=bob), 404, "not-found")
    assert http.get("/v1/provider-keys", headers=bob).json() == {"items": [], "next_cursor": None}
    assert http.delete("/v1/provider-keys/anthropic", headers=alice).status_code == 204


def _xadd(redis: Any, count: int, start: int) -> list[str]:
    return [redis.xadd("af:run:r1:events", {"type": "cell.done", "n": str(start + n)})
            for n in range(count)]  # fmt: skip


def test_websocket_replays_from_an_id_then_follows_live(api: Api, redis_client: Any) -> None:
    redis_client.delete("af:run:r1:events")
    ids = _xadd(redis_client, 3, 0)
    url = f"{api.base.replace('http', 'ws', 1)}/v1/streams/runs/r1/events?from={ids[0]}"
    with connect(url, additional_headers=api.headers(api.owner), open_timeout=10) as ws:
        replayed = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
        assert [(m["id"], m["data"]["n"]) for m in replayed] == [(ids[1], "1"), (ids[2], "2")]
        live = _xadd(redis_client, 2, 3)
        received = [json.loads(ws.recv(timeout=10))["id"] for _ in range(2)]
        assert received == live


def _sse_events(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    frame: dict[str, str] = {}
    for line in lines:
        if not line:
            if "id" in frame:
                events.append(frame)
                if len(events) == count:
                    return events
            frame = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            frame[name] = value
    raise AssertionError("stream ended early")


def test_sse_resumes_after_last_event_id_then_follows(
    api: Api, http: httpx.Client, redis_client: Any
) -> None:
    redis_client.delete("af:run:r1:events")
    ids = _xadd(redis_client, 4, 0)
    headers = {**api.headers(api.owner), "Last-Event-ID": ids[1]}
    with http.stream("GET", "/v1/streams/runs/r1/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        replayed = _sse_events(lines, 2)
        assert [e["id"] for e in replayed] == ids[2:]
        assert json.loads(replayed[0]["data"]) == {"type": "cell.done", "n": "2"}
        live = _xadd(redis_client, 1, 4)
        assert [e["id"] for e in _sse_events(lines, 1)] == live


def test_someone_elses_run_is_not_found(api: Api, http: httpx.Client) -> None:
    stranger = api.headers(f"eve-{uuid.uuid4().hex[:6]}")
    _problem(http.get("/v1/streams/runs/r1/events", headers=stranger), 404, "not-found")


def _forwarded_for() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}, 2001:db8::{uuid.uuid4().hex[:4]}"


def test_a_bad_token_flood_is_refused_per_client_address(http: httpx.Client) -> None:
    limit = ApiSettings().auth_failures_per_minute
    flood = {"Authorization": "Bearer forged", "X-Forwarded-For": _forwarded_for()}
    codes = [http.get("/v1/provider-keys", headers=flood).status_code for _ in range(120)]
    assert codes == [401] * limit + [429] * (120 - limit)
    refused = http.get("/v1/provider-keys", headers=flood)
    _problem(refused, 429, "rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    other = {"Authorization": "Bearer forged", "X-Forwarded-For": _forwarded_for()}
    _problem(http.get("/v1/provider-keys", headers=other), 401, "unauthorized")


def test_a_subject_with_bidi_characters_is_401(http: httpx.Client) -> None:
    claims = {"sub": "ali\u202ece", "iss": "autoforge-nexus", "exp": int(time.time()) + 60}
    forged = {
        "Authorization": f"Bearer {jwt.encode(claims, SECRET)}",
        "X-Forwarded-For": _forwarded_for(),
    }
    body = _problem(http.get("/v1/provider-keys", headers=forged), 401, "unauthorized")
    assert "subject" in body["detail"]


def _expiring(api: Api, redis_client: Any) -> dict[str, str]:
    redis_client.delete("af:run:r1:events")
    _xadd(redis_client, 1, 0)
    return {"Authorization": f"Bearer {create_token(api.settings, api.owner, ttl_seconds=2)}"}


def test_a_websocket_closes_when_its_token_expires(api: Api, redis_client: Any) -> None:
    headers = _expiring(api, redis_client)
    url = f"{api.base.replace('http', 'ws', 1)}/v1/streams/runs/r1/events"
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["data"]["n"] == "0"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_an_sse_stream_ends_when_its_token_expires(
    api: Api, http: httpx.Client, redis_client: Any
) -> None:
    headers = _expiring(api, redis_client)
    started = time.monotonic()
    with http.stream("GET", "/v1/streams/runs/r1/events", headers=headers) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())  # the server ends the stream (else: read timeout)
    assert any(line.startswith("id: ") for line in lines)
    assert time.monotonic() - started < 10
