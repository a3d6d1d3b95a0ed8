"""`/v1/optimizations` over the real app (`create_app`, as Serve hosts it) in-process, on a real
engine (embedded Redis, a database file, the inline executor) calling the session simulator
over HTTP: the loop runs in the API's engine, where its runs are started."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices
from engine.keys import Keyring, new_master_key
from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="o" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
TERMINAL = {"completed", "cancelled", "budget-exceeded", "failed", "interrupted"}
MODEL = "openai/sim-medium"
PROMPT, DATASET = "calc", "arith"


@dataclass
class Api:
    client: TestClient
    engine: Any
    simulator: Any

    def headers(self, user: str, ttl: int = 3600) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(SETTINGS, user, ttl_seconds=ttl)}"}


@pytest.fixture(scope="module")
def api(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-opt")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("o"))
    )
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        yield Api(client, engine, simulator)
    services.close()
    engine.close()


def _user(api: Api, n: int = 40) -> tuple[str, dict[str, str]]:
    """A new user with the arithmetic family's naive prompt and ``n`` of its cases."""
    from engine.simulator._families import FAMILIES

    family = FAMILIES["arithmetic"]
    user = f"user-{uuid.uuid4().hex[:8]}"
    headers = api.headers(user)
    prompt = {"name": PROMPT, "template": family.template, "system": family.system}
    _ok(api.client.post("/v1/prompts", json=prompt, headers=headers), 201)
    _ok(api.client.post("/v1/datasets", json={"name": DATASET}, headers=headers), 201)
    cases = [
        {"id": c["id"], "vars": c["variables"], "expected": c["expected"]}
        for c in family.cases(n=n, seed=0)
    ]
    added = api.client.post(
        f"/v1/datasets/{DATASET}/versions", json={"cases": cases}, headers=headers
    )
    _ok(added, 201)
    return user, headers


def _body(**changes: Any) -> dict[str, Any]:
    body = {
        "prompt": PROMPT,
        "dataset": DATASET,
        "models": [MODEL],
        "scorers": ["equals"],
        "optimizer": "random",
        "max_metric_calls": 60,
        "split": [0.5, 0.25, 0.25],
        "minibatch": 4,
        "seed": 0,
    }
    return body | changes


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://autoforge.dev/problems/{kind}"
    assert "Traceback" not in response.text
    return body


def _wait(api: Api, headers: dict[str, str], opt_id: str, timeout_s: float = 120) -> Any:
    deadline, shown = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        shown = _ok(api.client.get(f"/v1/optimizations/{opt_id}", headers=headers))
        if shown["status"] in TERMINAL:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"optimization {opt_id} did not stop in {timeout_s} s: {shown}")


def _requests(api: Api) -> int:
    return int(httpx.get(f"{api.simulator.url}/stats").json()["requests_total"])


Finished = tuple[str, dict[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def finished(api: Api) -> Finished:
    """An optimization of a fresh user, started with an Idempotency-Key and run to its end."""
    user, headers = _user(api)
    keyed = {**headers, "Idempotency-Key": f"opt-{uuid.uuid4().hex}"}
    started = api.client.post("/v1/optimizations", json=_body(), headers=keyed)
    first = _ok(started, 202)
    assert started.headers["location"] == f"/v1/optimizations/{first['id']}"
    replayed = _ok(api.client.post("/v1/optimizations", json=_body(), headers=keyed), 202)
    assert replayed["id"] == first["id"]
    assert first["branch"] == f"opt/{first['id']}" and first["optimizer"] == "random"
    return user, headers, _wait(api, headers, first["id"])


def test_an_optimization_runs_to_its_end_within_its_calls(api: Api, finished: Finished) -> None:
    _, headers, shown = finished
    assert shown["status"] == "completed", shown
    assert 0 < shown["calls"] <= shown["max_metric_calls"] == 60
    assert shown["candidates"] >= 1 and shown["front_size"] >= 1
    assert shown["baseline_val_score"] is not None and shown["best_val_score"] is not None
    listed = _ok(api.client.get("/v1/optimizations", headers=headers))
    assert [item["id"] for item in listed["items"]] == [shown["id"]]


def test_its_candidates_are_listed_page_by_page(api: Api, finished: Finished) -> None:
    _, headers, shown = finished
    url = f"/v1/optimizations/{shown['id']}/candidates"
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = _ok(api.client.get(url, params=params, headers=headers))
        seen += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen[0]["id"] == "c0" and seen[0]["kind"] == "baseline"
    assert len(seen) == shown["candidates"] + 1 or len(seen) == shown["candidates"]
    front = _ok(api.client.get(url, params={"front": "true"}, headers=headers))["items"]
    assert len(front) == shown["front_size"]
    bad = api.client.get(url, params={"cursor": "eyJhZnRlciI6LTF9"}, headers=headers)  # -1
    _problem(bad, 422, "validation")


def test_its_report_comes_in_three_formats(api: Api, finished: Finished) -> None:
    _, headers, shown = finished
    url = f"/v1/optimizations/{shown['id']}/report"
    document = _ok(api.client.get(url, headers=headers))
    assert document["kind"] == "optimization"
    assert document["optimization"]["id"] == shown["id"] and document["test"]["n"] >= 2
    markdown = api.client.get(url, params={"format": "markdown"}, headers=headers)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith(f"# Optimization {shown['id']}")
    page = api.client.get(url, params={"format": "html"}, headers=headers)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<svg" in page.text and "<script" not in page.text
    _problem(api.client.get(url, params={"format": "pdf"}, headers=headers), 422, "validation")


def test_promotion_answers_whether_a_label_moved(api: Api, finished: Finished) -> None:
    _, headers, shown = finished
    url = f"/v1/optimizations/{shown['id']}/promote"
    result = _ok(api.client.post(url, json={"label": "production", "alpha": 0.05}, headers=headers))
    assert result["label"] == "production"
    labels = _ok(api.client.get(f"/v1/prompts/{PROMPT}", headers=headers))["labels"]
    if result["promoted"]:
        assert labels["production"] == result["version"] and result["p_value"] < 0.05
    else:
        assert result["reason"] in ("no significant improvement", "the best is the baseline")
        assert "production" not in labels
    refreshed = _ok(api.client.get(f"/v1/optimizations/{shown['id']}", headers=headers))
    assert (refreshed["promoted"] is not None) == result["promoted"]


def test_its_events_replay_on_the_stream(api: Api, finished: Finished) -> None:
    user, headers, shown = finished
    url = f"/v1/streams/optimizations/{shown['id']}/events"
    events: list[dict[str, Any]] = []
    with api.client.websocket_connect(url, headers=headers) as socket:
        while not events or events[-1]["event"] != "finished":
            events.append(socket.receive_json())
    assert events[-1]["data"]["status"] == "completed"
    progress = [e["data"] for e in events if e["event"] == "progress"]
    assert progress and all(p["calls"] <= p["max_metric_calls"] for p in progress)
    # Over SSE from the last id but one; the stream ends with its 2-second token.
    resumed = {**api.headers(user, ttl=2), "Last-Event-ID": events[-2]["id"]}
    with api.client.stream("GET", url, headers=resumed) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = list(response.iter_lines())
    assert [line for line in lines if line.startswith("id: ")] == [f"id: {events[-1]['id']}"]
    data = next(line for line in lines if line.startswith("data: "))
    assert json.loads(data.removeprefix("data: ")) == events[-1]["data"]


def test_another_users_optimization_is_not_found(api: Api, finished: Finished) -> None:
    _, _, shown = finished
    stranger = api.headers(f"eve-{uuid.uuid4().hex[:6]}")
    base = f"/v1/optimizations/{shown['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("GET", f"{base}/candidates", None),
        ("GET", f"{base}/report", None),
        ("POST", f"{base}/cancel", None),
        ("POST", f"{base}/resume", None),
        ("POST", f"{base}/promote", {"label": "production"}),
    ):
        response = api.client.request(method, path, json=body, headers=stranger)
        _problem(response, 404, "not-found")
    assert _ok(api.client.get("/v1/optimizations", headers=stranger))["items"] == []
    with pytest.raises(WebSocketDisconnect) as closed:
        with api.client.websocket_connect(
            f"/v1/streams/optimizations/{shown['id']}/events", headers=stranger
        ) as ws:
            ws.receive_json()
    assert closed.value.code == 4404
    _problem(api.client.get(base), 401, "unauthorized")


BAD_INPUT = [
    ({"scorers": []}, "no-scorer"),
    ({"split": [0.5, 0.5, 0.5]}, "split-too-small"),
    ({"split": [0.96, 0.02, 0.02]}, "split-too-small"),
    ({"models": ["openai/no-such-model"]}, "unknown-model"),
    ({"reflection_model": "openai/no-such-reflector"}, "unknown-model"),
    ({"budget": 0}, "invalid-budget"),
    ({"budget": -1.5}, "invalid-budget"),
    ({"max_metric_calls": 0}, "invalid-max-metric-calls"),
    ({"patience": 0}, "invalid-patience"),
    ({"optimizer": "annealing"}, "unknown-optimizer"),
]


@pytest.fixture(scope="module")
def bad_input_user(api: Api) -> tuple[str, dict[str, str]]:
    return _user(api)


@pytest.mark.parametrize(("change", "reason"), BAD_INPUT)
def test_bad_input_is_a_problem_with_the_sdks_reason_before_any_call(
    api: Api, bad_input_user: tuple[str, dict[str, str]], change: dict[str, Any], reason: str
) -> None:
    from domain.errors import NexusError

    user, headers = bad_input_user
    calls = _requests(api)

    refused = api.client.post("/v1/optimizations", json=_body(**change), headers=headers)

    problem = _problem(refused, 422, "validation")
    assert problem["reason"] == reason, problem
    body = _body(**change)
    args = [body.pop(k) for k in ("prompt", "dataset", "models", "scorers")]
    with pytest.raises(NexusError) as sdk:
        api.engine.as_owner(user).optimize(*args, **{k: tuple(v) if k == "split" else v
                                                      for k, v in body.items()})  # fmt: skip
    assert sdk.value.details.get("reason") == reason
    assert _requests(api) == calls
    assert _ok(api.client.get("/v1/optimizations", headers=headers))["items"] == []


def test_an_unknown_prompt_or_dataset_is_not_found(
    api: Api, bad_input_user: tuple[str, dict[str, str]]
) -> None:
    _, headers = bad_input_user
    for change in ({"prompt": "nope"}, {"dataset": "nope"}):
        refused = api.client.post("/v1/optimizations", json=_body(**change), headers=headers)
        _problem(refused, 404, "not-found")


def test_a_cancelled_optimization_stays_cancelled(api: Api) -> None:
    _, headers = _user(api)
    body = _body(max_metric_calls=400)
    started = _ok(api.client.post("/v1/optimizations", json=body, headers=headers), 202)
    url = f"/v1/optimizations/{started['id']}"

    cancelled = api.client.post(f"{url}/cancel", headers=headers)

    assert cancelled.status_code == 202 and cancelled.headers["location"] == url
    stopped = _wait(api, headers, started["id"])
    assert stopped["status"] == "cancelled" and stopped["calls"] < 400, stopped
    for action in ("resume", "cancel"):
        refused = _problem(api.client.post(f"{url}/{action}", headers=headers), 409, "conflict")
        assert refused["reason"] == "optimization-finished"


def _app(engine: Any) -> TestClient:
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("r"))
    )
    return TestClient(create_app(services), client=("127.0.0.1", 40000))


def test_an_optimization_whose_engine_stopped_resumes_over_http(
    simulator: Any, tmp_path: Path
) -> None:
    from engine.sdk import Engine

    def engine() -> Any:
        started = Engine(data_dir=tmp_path, executor="inline")
        started.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
        return started

    first = engine()
    with _app(first) as client:
        api = Api(client, first, simulator)
        _, headers = _user(api)
        body = _body(max_metric_calls=120, concurrency=2)
        opt_id = _ok(client.post("/v1/optimizations", json=body, headers=headers), 202)["id"]
        url = f"/v1/optimizations/{opt_id}"
        deadline = time.monotonic() + 60
        while _ok(client.get(url, headers=headers))["calls"] == 0:
            assert time.monotonic() < deadline, "the loop made no call"
            time.sleep(0.05)
    first.close()  # the loop stops with its engine, mid-way

    second = engine()
    try:
        with _app(second) as client:
            api = Api(client, second, simulator)
            stopped = _ok(client.get(url, headers=headers))
            assert stopped["status"] == "interrupted" and stopped["calls"] < 120, stopped
            resumed = client.post(f"{url}/resume", json={"concurrency": 8}, headers=headers)
            assert _ok(resumed, 202)["id"] == opt_id
            done = _wait(api, headers, opt_id)
    finally:
        second.close()
    assert done["status"] == "completed", done
    assert stopped["calls"] <= done["calls"] <= 120
