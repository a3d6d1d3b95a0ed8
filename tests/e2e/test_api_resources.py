"""The /v1 resources over real HTTP through Ray Serve (`serve.start` + `api.serve.deploy`, as
`autoforge serve` does): session Ray and Redis, a fresh database, the session simulator."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from engine.cli.demo_data import SCORERS, V1, V2, demo_cases
from tests.e2e.serving import hs256_overrides, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "resources-secret-" + "r" * 32
TERMINAL = {"completed", "cancelled", "budget-exceeded", "failed", "interrupted"}
SMALL, LARGE = "openai/sim-small", "openai/sim-large"
GOOD_JSONL = '{"question": "2+2?", "expected": "4"}\n{"question": "3*3?", "expected": "9"}\n'
BAD_CSV = 'question,expected\n2+2?,4\n3*3?,9,extra\n5-1?,4\n"unterminated,4\n'


@dataclass
class Api:
    base: str
    settings: ApiSettings

    def client(self, user: str) -> httpx.Client:
        token = create_token(self.settings, user)
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


@dataclass
class Users:
    alice: httpx.Client
    bob: httpx.Client


@pytest.fixture(scope="module")
def api(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    """Both Serve applications as `autoforge serve` deploys them; the replica builds its own
    engine from settings, and reaches the session simulator through a catalogue file."""
    from engine.llm import simulator_catalogue

    catalogue = simulator_catalogue(simulator.api_base, max_concurrency=64)
    data = tmp_path_factory.mktemp("resources")
    overrides = hs256_overrides(data, redis_url, SECRET, catalogue, rate_limit_per_minute=100_000)
    # Schemathesis' ignored-auth check sends each generated request once more without a token:
    # hundreds of failed authentications from 127.0.0.1, which would block the address.
    with serving(overrides, api={"auth_failures_per_minute": 100_000}) as base:
        yield Api(base, ApiSettings(**overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def users(api: Api) -> Iterator[Users]:
    suffix = uuid.uuid4().hex[:6]
    with api.client(f"alice-{suffix}") as alice, api.client(f"bob-{suffix}") as bob:
        yield Users(alice, bob)


def _problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://autoforge.dev/problems/{kind}"
    return body


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _walk(http: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = _ok(http.get(url, params={**params, **({"cursor": cursor} if cursor else {})}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _wait(http: httpx.Client, run_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run: dict[str, Any] = _ok(http.get(f"/v1/runs/{run_id}"))
        if run["status"] in TERMINAL:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not stop in {timeout_s} s")


def test_prompt_history_round_trip(users: Users) -> None:
    http = users.alice
    created = http.post(
        "/v1/prompts",
        json={
            "name": "greeter",
            "template": "Hi {{name}}",
            "settings": {"temperature": 0.2},
            "tags": ["demo"],
        },
    )
    prompt = _ok(created, 201)
    assert created.headers["location"] == f"/v1/prompts/{prompt['id']}"
    v1 = prompt["head"]
    committed = http.post(
        "/v1/prompts/greeter/versions",
        json={"template": "Hello {{name}}", "message": "longer", "parent": v1},
    )
    v2 = _ok(committed, 201)
    assert committed.headers["location"].endswith(f"/versions/{v2['id']}")
    assert v2["parents"] == [v1] and v2["template"] == {"text": "Hello {{name}}"}
    first_page = _ok(http.get("/v1/prompts/greeter/versions", params={"limit": 1}))
    assert [v["id"] for v in first_page["items"]] == [v2["id"]]
    history = _walk(http, "/v1/prompts/greeter/versions", limit=1)
    assert [v["id"] for v in history] == [v2["id"], v1]
    assert _ok(http.get(f"/v1/prompts/{prompt['id']}/versions/{v1[:12]}"))["number"] == 1
    diff = _ok(http.get("/v1/prompts/greeter/diff", params={"from": v1, "to": "main"}))
    assert diff["changes"] == ["template.text"] and "+Hello {{name}}" in diff["template"]
    labelled = _ok(http.put("/v1/prompts/greeter/labels/production", json={"to": v1}))
    assert labelled["id"] == v1
    reverted = _ok(http.post("/v1/prompts/greeter/revert", json={"to": "production"}), 201)
    assert reverted["template"] == {"text": "Hi {{name}}"} and reverted["parents"] == [v2["id"]]
    branch = _ok(http.post("/v1/prompts/greeter/branches", json={"name": "exp/short"}), 201)
    assert branch["id"] == reverted["id"]
    on_branch = _ok(
        http.post(
            "/v1/prompts/greeter/versions", json={"template": "Yo {{name}}", "branch": "exp/short"}
        ),
        201,
    )
    merged = _ok(http.post("/v1/prompts/greeter/merge", json={"source": "exp/short"}))
    assert merged == {"outcome": "fast-forward", "version": on_branch}
    assert http.delete("/v1/prompts/greeter/branches/exp/short").status_code == 204
    assert http.delete("/v1/prompts/greeter/labels/production").status_code == 204
    shown = _ok(http.get("/v1/prompts/greeter"))
    assert shown["head"] == on_branch["id"] and shown["labels"] == {}
    assert shown["branches"] == {"main": on_branch["id"]} and shown["version_count"] == 4
    assert _ok(http.post("/v1/prompts/greeter/archive"))["archived"] is True
    assert _ok(http.get("/v1/prompts"))["items"] == []
    assert [p["name"] for p in _ok(http.get("/v1/prompts?archived=true"))["items"]] == ["greeter"]
    _problem(http.post("/v1/prompts/greeter/versions", json={"template": "x"}), 409, "conflict")
    assert _ok(http.post("/v1/prompts/greeter/restore"))["archived"] is False


def test_a_stale_parent_is_a_409_conflict(users: Users) -> None:
    http = users.alice
    head = _ok(http.post("/v1/prompts", json={"name": "racy", "template": "A"}), 201)["head"]
    _ok(http.post("/v1/prompts/racy/versions", json={"template": "B", "parent": head}), 201)
    stale = http.post("/v1/prompts/racy/versions", json={"template": "C", "parent": head})
    assert _problem(stale, 409, "conflict")["reason"] == "stale-parent"
    duplicate = http.post("/v1/prompts", json={"name": "racy", "template": "again"})
    _problem(duplicate, 409, "conflict")


def test_prompts_are_searched_by_name_and_tag_page_by_page(users: Users) -> None:
    http = users.alice
    for name, tags in (("search-a", ["x"]), ("search-b", ["x", "y"]), ("search-c", ["y"])):
        _ok(http.post("/v1/prompts", json={"name": name, "template": "t", "tags": tags}), 201)
    names = [p["name"] for p in _walk(http, "/v1/prompts", q="search-", limit=2)]
    assert names == ["search-a", "search-b", "search-c"]
    tagged = _walk(http, "/v1/prompts", q="search", tag="y")
    assert [p["name"] for p in tagged] == ["search-b", "search-c"]


def test_datasets_import_export_and_reject_bad_rows(users: Users) -> None:
    http = users.alice
    created = http.post("/v1/datasets", json={"name": "qa", "description": "arithmetic"})
    dataset = _ok(created, 201)
    assert created.headers["location"] == f"/v1/datasets/{dataset['id']}"
    raw = http.post(
        "/v1/datasets/qa/import",
        content=GOOD_JSONL,
        headers={"content-type": "application/x-ndjson"},
    )
    assert _ok(raw, 201)["number"] == 1 and raw.json()["case_count"] == 2
    bad = http.post("/v1/datasets/qa/import", files={"file": ("cases.csv", BAD_CSV, "text/csv")})
    problem = _problem(bad, 422, "validation")
    assert [error["line"] for error in problem["errors"]] == [3, 5]
    assert problem["errors"][0]["loc"] == ["body", "line", 3] and "line 3" in problem["detail"]
    assert _ok(http.get("/v1/datasets/qa"))["latest_version"] == 1
    skipped = http.post(
        "/v1/datasets/qa/import?skip_bad=true",
        content=BAD_CSV,
        headers={"content-type": "text/csv"},
    )
    assert _ok(skipped, 201)["case_count"] == 2
    assert [row["line"] for row in skipped.json()["skipped"]] == [3, 5]
    unsupported = http.post("/v1/datasets/qa/import", content="x", headers={"content-type": "a/b"})
    _problem(unsupported, 415, "unsupported-media-type")
    cases = [{"vars": {"question": "1+1?"}, "expected": "2", "id": "c1"}]
    added = _ok(http.post("/v1/datasets/qa/versions", json={"cases": cases}), 201)
    assert added["number"] == 3
    versions = _walk(http, "/v1/datasets/qa/versions", limit=2)
    assert [v["number"] for v in versions] == [1, 2, 3]
    jsonl = http.get("/v1/datasets/qa/versions/1/export")
    assert jsonl.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line)["expected"] for line in jsonl.text.splitlines()] == ["4", "9"]
    csv = http.get("/v1/datasets/qa/versions/3/export", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.text.splitlines()[1] == "c1,1+1?,2"
    _problem(http.get("/v1/datasets/qa/versions/9/export"), 404, "not-found")
    own = [
        {
            "vars": {"question": "hi"},
            "id": "c2",
            "scorers": [{"type": "contains", "args": {"value": "sorry"}, "negate": True}],
            "threshold": 0.5,
        }
    ]
    added = _ok(http.post("/v1/datasets/qa/versions", json={"cases": own}), 201)
    exported = http.get(f"/v1/datasets/qa/versions/{added['number']}/export")
    row = json.loads(exported.text)
    assert row["threshold"] == 0.5 and row["scorers"][0]["name"] == "not-contains"
    not_csv = http.get(
        f"/v1/datasets/qa/versions/{added['number']}/export", params={"format": "csv"}
    )
    assert not_csv.status_code == 422 and "JSONL" in not_csv.json()["detail"]
    bad_own = [{"vars": {"question": "hi"}, "scorers": [{"type": "no-such-scorer"}]}]
    _problem(http.post("/v1/datasets/qa/versions", json={"cases": bad_own}), 422, "validation")
    assert [d["name"] for d in _ok(http.get("/v1/datasets"))["items"]] == ["qa"]


def test_http_import_creates_a_missing_dataset_but_not_for_a_rejected_file(users: Users) -> None:
    http = users.alice
    jsonl = {"content-type": "application/x-ndjson"}
    rejected = http.post("/v1/datasets/fresh-bad/import", content=BAD_CSV, headers=jsonl)
    _problem(rejected, 422, "validation")
    _problem(http.get("/v1/datasets/fresh-bad"), 404, "not-found")

    imported = _ok(http.post("/v1/datasets/fresh/import", content=GOOD_JSONL, headers=jsonl), 201)

    assert (imported["number"], imported["case_count"]) == (1, 2)
    assert _ok(http.get("/v1/datasets/fresh"))["latest_version"] == 1


@pytest.fixture(scope="module")
def evaluation(users: Users) -> dict[str, Any]:
    """A prompt with two versions and a six-case dataset of Alice's."""
    http = users.alice
    _ok(http.post("/v1/prompts", json={"name": "qa-assistant", "template": V1["template"]}), 201)
    v2 = {"template": V2["template"], "system": V2["system"], "message": V2["message"]}
    _ok(http.post("/v1/prompts/qa-assistant/versions", json=v2), 201)
    _ok(http.post("/v1/datasets", json={"name": "demo"}), 201)
    _ok(http.post("/v1/datasets/demo/versions", json={"cases": demo_cases(6)}), 201)
    log = _ok(http.get("/v1/prompts/qa-assistant/versions"))["items"]
    return {"versions": [v["id"] for v in reversed(log)], "scorers": list(SCORERS)}


def _run_body(evaluation: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {"prompt": "qa-assistant", "dataset": "demo", "models": [SMALL], "seed": 3}
    return {**body, "scorers": evaluation["scorers"], **overrides}


def test_a_run_is_started_once_followed_and_reported(
    users: Users, evaluation: dict[str, Any]
) -> None:
    http = users.alice
    body = _run_body(evaluation, versions=evaluation["versions"], models=[SMALL, LARGE])
    key = {"Idempotency-Key": f"start-{uuid.uuid4().hex}"}
    first, replay = (http.post("/v1/runs", json=body, headers=key) for _ in range(2))
    run = _ok(first, 202)
    assert _ok(replay, 202)["id"] == run["id"]
    assert first.headers["location"] == replay.headers["location"] == f"/v1/runs/{run['id']}"
    assert run["total_cells"] == 24 and run["spec"]["case_count"] == 6
    done = _wait(http, run["id"])
    assert done["status"] == "completed" and done["recorded_cells"] == 24
    assert done["progress"] is None
    cells = _walk(http, f"/v1/runs/{run['id']}/cells", limit=5)
    assert len({(c["prompt_version"], c["model"], c["case_id"]) for c in cells}) == 24
    small = _walk(http, f"/v1/runs/{run['id']}/cells", model=SMALL)
    assert len(small) == 12 and {c["model"] for c in small} == {SMALL}
    v2 = evaluation["versions"][1]
    by_version = _walk(http, f"/v1/runs/{run['id']}/cells", prompt_version=v2[:10], model=LARGE)
    assert len(by_version) == 6 and {c["prompt_version"] for c in by_version} == {v2}
    passed = _walk(http, f"/v1/runs/{run['id']}/cells", passed="true")
    assert passed and all(c["passed"] is True for c in passed)
    assert _walk(http, f"/v1/runs/{run['id']}/cells", error="true") == []
    assert all(c["variables"] and c["queue_ms"] is not None for c in cells)
    failed = _walk(http, f"/v1/runs/{run['id']}/cells", passed="false")
    assert all(c["reasons"] for c in failed)  # why each failed case failed
    report = _ok(http.get(f"/v1/runs/{run['id']}/report"))
    assert report["kind"] == "report" and len(report["groups"]) == 4
    assert report["n_failed"] == len(failed)
    assert sum(g["n_passed"] for g in report["groups"]) == len(passed)
    html = http.get(f"/v1/runs/{run['id']}/report", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.startswith("<!DOCTYPE html>")
    assert "style-src" in html.headers["content-security-policy"]
    markdown = http.get(f"/v1/runs/{run['id']}/report", params={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown") and "|" in markdown.text
    assert run["id"] in [r["id"] for r in _walk(http, "/v1/runs", limit=1)]


def test_a_routed_run_calls_the_cheapest_model_and_a_finished_run_cannot_be_cancelled(
    users: Users, evaluation: dict[str, Any]
) -> None:
    http = users.alice
    unknown = http.post("/v1/runs", json=_run_body(evaluation, routing="fastest"))
    assert _problem(unknown, 422, "validation")["errors"][0]["loc"] == ["body", "routing"]
    body = _run_body(evaluation, versions=["v1"], models=[LARGE, SMALL], routing="cheapest")
    run = _ok(http.post("/v1/runs", json=body), 202)
    assert run["spec"]["routing"] == "cheapest" and run["total_cells"] == 6
    assert _wait(http, run["id"])["status"] == "completed"
    cells = _ok(http.get(f"/v1/runs/{run['id']}/cells"))["items"]
    assert {c["model"] for c in cells} == {f"cheapest({LARGE}|{SMALL})"}
    refused = _problem(http.post(f"/v1/runs/{run['id']}/cancel"), 409, "conflict")
    assert refused["detail"] == f"run {run['id']} is already completed"


def test_two_runs_are_compared_case_by_case(users: Users, evaluation: dict[str, Any]) -> None:
    http = users.alice
    v1, v2 = evaluation["versions"]
    a = _ok(http.post("/v1/runs", json=_run_body(evaluation, versions=[v1])), 202)["id"]
    b = _ok(http.post("/v1/runs", json=_run_body(evaluation, versions=[v2])), 202)["id"]
    assert {_wait(http, a)["status"], _wait(http, b)["status"]} == {"completed"}
    comparison = _ok(http.get("/v1/runs/compare", params={"a": a, "b": b}))
    assert comparison["kind"] == "comparison" and comparison["n_pairs"] == 6
    assert (comparison["label_a"], comparison["label_b"]) == (a, b)


def test_a_cancelled_run_resumes_to_completion(users: Users, evaluation: dict[str, Any]) -> None:
    http = users.alice
    body = _run_body(evaluation, repeats=50, concurrency=1, cache=False)
    run = _ok(http.post("/v1/runs", json=body), 202)
    live = _ok(http.get(f"/v1/runs/{run['id']}"))
    assert live["status"] == "running" and live["progress"]["total"] == 300
    cancelled = http.post(f"/v1/runs/{run['id']}/cancel")
    assert _ok(cancelled, 202)["id"] == run["id"]
    stopped = _wait(http, run["id"])
    assert stopped["status"] == "cancelled" and stopped["recorded_cells"] < 300
    resumed = http.post(f"/v1/runs/{run['id']}/resume")
    assert resumed.status_code == 202 and resumed.headers["location"] == f"/v1/runs/{run['id']}"
    finished = _wait(http, run["id"])
    assert finished["status"] == "completed" and finished["recorded_cells"] == 300
    assert finished["spec"]["concurrency"] == 1  # the run's own, not the default
    _problem(http.post(f"/v1/runs/{run['id']}/resume"), 409, "conflict")


def test_a_run_stopped_at_its_budget_resumes_with_a_higher_cap(
    users: Users, evaluation: dict[str, Any]
) -> None:
    http = users.alice
    body = _run_body(evaluation, models=[LARGE], repeats=10, cache=False, concurrency=2)
    run = _ok(http.post("/v1/runs", json={**body, "budget": 0.002}), 202)["id"]
    stopped = _wait(http, run)
    assert stopped["status"] == "budget-exceeded", stopped
    left = stopped["total_cells"] - stopped["recorded_cells"]
    assert left > 0 and stopped["over_budget_cells"] == left
    assert stopped["error"].startswith("budget-exceeded: ") and f"{left} of 60" in stopped["error"]
    _problem(http.post(f"/v1/runs/{run}/resume", json={"budget": 0}), 422, "validation")
    _problem(http.post(f"/v1/runs/{run}/resume", json={"concurrency": 0}), 422, "validation")
    _ok(http.post(f"/v1/runs/{run}/resume", json={"budget": 5.0, "concurrency": 3}), 202)
    finished = _wait(http, run)
    assert finished["status"] == "completed" and finished["recorded_cells"] == 60
    assert finished["spec"]["budget_usd"] == 5.0 and finished["over_budget_cells"] == 0
    assert finished["spec"]["concurrency"] == 3


def test_the_run_event_stream_answers_its_owner_only(
    users: Users, evaluation: dict[str, Any]
) -> None:
    run = _ok(users.alice.post("/v1/runs", json=_run_body(evaluation)), 202)["id"]
    _wait(users.alice, run)
    url = f"/v1/streams/runs/{run}/events"
    with users.alice.stream("GET", url) as response:
        assert response.status_code == 200
        first = next(line for line in response.iter_lines() if line.startswith("data:"))
        assert "started" in first
    _problem(users.bob.get(url), 404, "not-found")


def test_a_playground_turn_streams_over_a_websocket_through_serve(
    api: Api, users: Users, evaluation: dict[str, Any]
) -> None:
    from websockets.sync.client import connect

    body = {"prompt": "qa-assistant", "models": [SMALL, LARGE]}
    session = _ok(users.alice.post("/v1/playground", json=body), 201)
    url = api.base.replace("http", "ws", 1) + session["events"]
    headers = {"Authorization": users.alice.headers["Authorization"]}
    events: list[dict[str, Any]] = []
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        case = demo_cases(1)[0]
        turn = users.alice.post(
            f"/v1/playground/{session['id']}/turns", json={"variables": case["vars"]}
        )
        _ok(turn, 202)
        while not events or events[-1]["event"] != "turn.done":
            events.append(json.loads(ws.recv(timeout=30)))
    done = _ok(users.alice.get(turn.headers["Location"]))
    assert done["status"] == "done" and [a["model"] for a in done["answers"]] == [SMALL, LARGE]
    for answer in done["answers"]:
        pieces = [
            e["data"]["text"]
            for e in events
            if e["event"] == "delta" and e["data"]["model"] == answer["model"]
        ]
        assert pieces and "".join(pieces) == answer["content"]
    _problem(users.bob.get(f"/v1/playground/{session['id']}"), 404, "not-found")
    _problem(users.bob.get(f"/v1/streams/playground/{session['id']}/events"), 404, "not-found")


def test_models_show_limits_and_usage_but_no_secrets(
    users: Users, evaluation: dict[str, Any]
) -> None:
    run = _ok(users.alice.post("/v1/runs", json=_run_body(evaluation, cache=False)), 202)
    assert _wait(users.alice, run["id"])["status"] == "completed"
    catalogue = users.alice.get("/v1/models")
    body = _ok(catalogue)
    account = next(a for a in body["accounts"] if a["name"] == "simulator")
    assert account["rpm"] > 0 and account["requires_api_key"] is False
    assert {SMALL, LARGE} <= {m["name"] for m in body["models"]}
    assert "api_base" not in catalogue.text and "api_key_env" not in catalogue.text
    usage = _ok(users.alice.get("/v1/models/usage"))
    simulated = next(a for a in usage["accounts"] if a["account"] == "simulator")
    assert simulated["totals"]["calls"] > 0 and simulated["models"][SMALL]["calls"] > 0
    assert simulated["totals"]["calls"] == sum(m["calls"] for m in simulated["models"].values())
    # Usage is the caller's own: Bob made no call, so he sees none of Alice's.
    bobs = _ok(users.bob.get("/v1/models/usage"))
    assert all(a["totals"]["calls"] == 0 for a in bobs["accounts"])


def test_another_users_resources_are_not_found(users: Users, evaluation: dict[str, Any]) -> None:
    alice, bob = users.alice, users.bob
    prompt = _ok(alice.get("/v1/prompts/qa-assistant"))
    run = _ok(alice.post("/v1/runs", json=_run_body(evaluation)), 202)["id"]
    _wait(alice, run)
    hidden = [
        "/v1/prompts/qa-assistant",
        f"/v1/prompts/{prompt['id']}",
        "/v1/prompts/qa-assistant/versions",
        "/v1/datasets/demo",
        "/v1/datasets/demo/versions",
        "/v1/datasets/demo/versions/1/export",
        f"/v1/runs/{run}",
        f"/v1/runs/{run}/cells",
        f"/v1/runs/{run}/report",
    ]
    for path in hidden:
        _problem(bob.get(path), 404, "not-found")
    _problem(bob.post(f"/v1/runs/{run}/cancel"), 404, "not-found")
    _problem(bob.post(f"/v1/runs/{run}/resume"), 404, "not-found")
    _problem(bob.get("/v1/runs/compare", params={"a": run, "b": run}), 404, "not-found")
    _problem(bob.post("/v1/prompts/qa-assistant/archive"), 404, "not-found")
    _problem(bob.put("/v1/prompts/qa-assistant/labels/x", json={}), 404, "not-found")
    _problem(bob.post("/v1/runs", json=_run_body(evaluation)), 404, "not-found")
    for path in ("/v1/prompts", "/v1/datasets", "/v1/runs"):
        assert _ok(bob.get(path)) == {"items": [], "next_cursor": None}
    # Bob's own things with Alice's names are his alone: his import creates his own dataset.
    jsonl = {"content-type": "application/x-ndjson"}
    mine = _ok(bob.post("/v1/datasets/demo/import", content=GOOD_JSONL, headers=jsonl), 201)
    assert mine["number"] == 1 and mine["case_count"] == 2
    assert _ok(alice.get("/v1/datasets/demo"))["latest_version"] == 1
    _problem(bob.post("/v1/datasets", json={"name": "demo"}), 409, "conflict")


def test_generated_requests_get_documented_answers(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json")
    token = create_token(api.settings, f"fuzz-{uuid.uuid4().hex[:6]}")
    resources = ("/v1/prompts", "/v1/datasets", "/v1/runs", "/v1/models", "/v1/playground")
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path.startswith(resources)
    ]
    # An opaque cursor is any string in the schema but only ours decode: a 422 is right.
    excluded = [schemathesis.checks.positive_data_acceptance]

    @given(data=st.data())
    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    def exercise(data: st.DataObject) -> None:
        case = data.draw(data.draw(st.sampled_from(operations)).as_strategy())
        case.call_and_validate(
            base_url=api.base,
            headers={"Authorization": f"Bearer {token}"},
            excluded_checks=excluded,
        )

    exercise()
