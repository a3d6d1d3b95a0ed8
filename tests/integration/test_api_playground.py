"""The playground over the real app in-process (`create_app` on an inline engine) calling the
session simulator: a turn answers 202 and its answers arrive piece by piece over the
session's WebSocket stream; turns become cases, edits become versions; another user's
session is 404 on every route and on the stream; bad input is a problem+json."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="p" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
MODELS = ["openai/sim-small", "openai/sim-medium"]


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}


@pytest.fixture(scope="module")
def client(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-playground")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as test_client:
        yield test_client
    services.close()
    engine.close()


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    headers = _headers(f"alice-{uuid.uuid4().hex[:6]}")
    body = {"name": "tides", "template": "Write two sentences about {{topic}}."}
    assert client.post("/v1/prompts", json=body, headers=headers).status_code == 201
    return headers


def _session(client: TestClient, headers: dict[str, str], models: list[str] = MODELS) -> Any:
    made = client.post(
        "/v1/playground", json={"prompt": "tides", "models": models}, headers=headers
    )
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == f"/v1/playground/{made.json()['id']}"
    return made.json()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "Traceback" not in response.text
    return dict(response.json())


def test_a_turn_streams_over_the_websocket_and_is_kept(
    client: TestClient, alice: dict[str, str]
) -> None:
    session = _session(client, alice)
    assert session["events"] == f"/v1/streams/playground/{session['id']}/events"
    events: list[dict[str, Any]] = []
    with client.websocket_connect(session["events"], headers=alice) as socket:
        started = client.post(
            f"/v1/playground/{session['id']}/turns",
            json={"variables": {"topic": "the moon"}},
            headers=alice,
        )
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running" and started.json()["number"] == 1
        while not events or events[-1]["event"] != "turn.done":
            events.append(socket.receive_json())
    turn = client.get(started.headers["Location"], headers=alice).json()
    assert turn["status"] == "done" and [a["model"] for a in turn["answers"]] == MODELS
    assert events[0]["event"] == "turn.started" and events[0]["data"]["models"] == MODELS
    for answer in turn["answers"]:
        deltas = [
            e["data"]["text"]
            for e in events
            if e["event"] == "delta" and e["data"]["model"] == answer["model"]
        ]
        assert len(deltas) > 1 and "".join(deltas) == answer["content"]
        (said,) = [
            e["data"]
            for e in events
            if e["event"] == "answer" and e["data"]["model"] == answer["model"]
        ]
        assert said["content"] == answer["content"] and said["cost_usd"] == answer["cost_usd"]
    history = client.get(f"/v1/playground/{session['id']}/turns", headers=alice).json()
    assert history == [turn]
    listed = client.get("/v1/playground", headers=alice).json()["items"]
    assert session["id"] in [s["id"] for s in listed]


def _finished_turn(client: TestClient, headers: dict[str, str], session_id: str) -> Any:
    started = client.post(
        f"/v1/playground/{session_id}/turns", json={"variables": {"topic": "x"}}, headers=headers
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while True:
        turn = client.get(started.headers["Location"], headers=headers).json()
        if turn["status"] == "done":
            return turn
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_turn_becomes_a_case_and_an_edit_a_version(
    client: TestClient, alice: dict[str, str]
) -> None:
    session = _session(client, alice, MODELS[:1])
    turn = _finished_turn(client, alice, session["id"])
    base = f"/v1/playground/{session['id']}"
    saved = client.post(
        f"{base}/turns/1/cases", json={"model": MODELS[0], "dataset": "pg-cases"}, headers=alice
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["number"] == 1 and saved.json()["case_count"] == 1
    committed = client.post(
        f"{base}/commits",
        json={"template": "One word on {{topic}}.", "message": "terse"},
        headers=alice,
    )
    assert committed.status_code == 201, committed.text
    assert client.get(base, headers=alice).json()["prompt_version"] == committed.json()["id"]
    assert committed.json()["id"] != turn["prompt_version"]
    second = _finished_turn(client, alice, session["id"])
    assert second["number"] == 2 and second["prompt_version"] == committed.json()["id"]


def test_another_users_session_is_not_found(client: TestClient, alice: dict[str, str]) -> None:
    session = _session(client, alice, MODELS[:1])
    eve = _headers(f"eve-{uuid.uuid4().hex[:6]}")
    base = f"/v1/playground/{session['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/turns", None),
        ("GET", f"{base}/turns/1", None),
        ("POST", f"{base}/turns", {"variables": {}}),
        ("POST", f"{base}/turns/1/cases", {"model": MODELS[0], "dataset": "d"}),
        ("POST", f"{base}/commits", {"template": "hijacked"}),
    ):
        _problem(client.request(method, path, json=body, headers=eve), 404)
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect(session["events"], headers=eve) as ws:
            ws.receive_json()
    assert closed.value.code == 4404
    assert client.get(base, headers=alice).json()["prompt_version"] == session["prompt_version"]
    _problem(client.get(base), 401)


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "tides", "models": []},
        {"prompt": "tides", "models": ["openai/sim-small"] * 2},
        {"prompt": "tides", "models": ["openai/gpt-unknown"]},
        {"prompt": "tides", "models": MODELS, "params": {"api_base": "http://169.254.169.254"}},
        {"prompt": "tides", "models": MODELS, "surprise": 1},
    ],
)
def test_a_bad_session_is_422_and_nothing_is_stored(
    client: TestClient, alice: dict[str, str], body: dict[str, Any]
) -> None:
    before = len(client.get("/v1/playground", headers=alice, params={"limit": 200}).json()["items"])
    _problem(client.post("/v1/playground", json=body, headers=alice), 422)
    after = len(client.get("/v1/playground", headers=alice, params={"limit": 200}).json()["items"])
    assert after == before


def test_bad_variables_are_422_and_no_turn_starts(
    client: TestClient, alice: dict[str, str]
) -> None:
    session = _session(client, alice, MODELS[:1])
    turns = f"/v1/playground/{session['id']}/turns"
    for variables in ({"topic": {"nested": 1}}, {"topic": "x" * 40_000}):
        _problem(client.post(turns, json={"variables": variables}, headers=alice), 422)
    assert client.get(turns, headers=alice).json() == []
    _problem(
        client.post("/v1/playground", json={"prompt": "nope", "models": MODELS}, headers=alice), 404
    )
