"""Over the real app in-process (`create_app` on an inline engine): flows created, committed,
read, diffed and labelled over HTTP; refused flows are 422 problems naming the step; tools
are only the operator's; another user's flow is a 404."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.schemas_flows import FLOW_EXAMPLE
from api.services import ApiServices
from engine.keys import Keyring, new_master_key

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="f" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, simulator: Any
) -> Iterator[tuple[TestClient, str]]:
    from engine.llm import simulator_catalogue
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-flows")
    # The operator's one tool: the standard library's `len`.
    engine = Engine(
        data_dir=data,
        executor="inline",
        flow_tools={"count": "builtins:len", "dedent": "textwrap:dedent"},
    )
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("f"))
    )
    owner = f"alice-{uuid.uuid4().hex[:6]}"
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        for name, text in (
            ("triage", "Classify: {{ question }}"),
            ("reply", "Reply: {{ question }}"),
            ("agent", [{"role": "system", "content": "You are a support agent."}]),
            ("tidy", "Remove the common leading whitespace from every line: {{ question }}"),
        ):
            made = client.post(
                "/v1/prompts", json={"name": name, "template": text}, headers=_headers(owner)
            )
            assert made.status_code == 201, made.text
        made = client.put(
            "/v1/prompts/triage/labels/production", json={"to": "main"}, headers=_headers(owner)
        )
        assert made.status_code == 200, made.text
        mine = engine.as_owner(owner).datasets
        mine.create("tickets")
        mine.add(
            "tickets",
            [
                {"id": f"t{i}", "vars": {"question": q}, "expected": "billing"}
                for i, q in enumerate(["my invoice is wrong", "the app crashes"])
            ],
        )
        yield client, owner
    services.close()
    engine.close()


def test_a_flow_lives_its_history_over_http(api: tuple[TestClient, str]) -> None:
    client, owner = api
    h = _headers(owner)
    made = client.post("/v1/flows", json={"name": "support", "flow": FLOW_EXAMPLE}, headers=h)
    assert made.status_code == 201, made.text
    first = made.json()["head"]
    assert first["number"] == 1 and first["flow"]["steps"][0]["name"] == "classify"
    changed = copy.deepcopy(FLOW_EXAMPLE)
    changed["steps"][2]["template"] = "Open your invoices page."
    committed = client.post(
        "/v1/flows/support/versions",
        json={"flow": changed, "message": "v2", "parent": first["id"]},
        headers=h,
    )
    assert committed.status_code == 201, committed.text
    stale = client.post(
        "/v1/flows/support/versions", json={"flow": FLOW_EXAMPLE, "parent": first["id"]}, headers=h
    )
    assert stale.status_code == 409
    history = client.get("/v1/flows/support/versions", headers=h).json()
    assert [v["number"] for v in history] == [2, 1]
    label = client.put("/v1/flows/support/labels/production", json={"to": "v1"}, headers=h)
    assert label.status_code == 200 and label.json()["id"] == first["id"]
    diff = client.get(
        "/v1/flows/support/diff", params={"from": "production", "to": "main"}, headers=h
    ).json()
    assert diff["changes"] == ["steps.billing"] and "invoices page" in diff["diff"]
    shown = client.get("/v1/flows/support", headers=h).json()
    assert shown["labels"] == {"production": first["id"]}
    assert client.get("/v1/flows", headers=h).json()["items"] == ["support"]
    assert client.get("/v1/flows/support/versions/v1", headers=h).json()["id"] == first["id"]
    other = _headers("mallory")
    assert client.get("/v1/flows/support", headers=other).status_code == 404
    assert client.get("/v1/flows", headers=other).json()["items"] == []


def _refusal(client: TestClient, owner: str, flow: dict[str, Any]) -> dict[str, Any]:
    sent = client.post(
        "/v1/flows",
        json={"name": f"bad-{uuid.uuid4().hex[:6]}", "flow": flow},
        headers=_headers(owner),
    )
    assert sent.status_code == 422, sent.text
    assert sent.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert "Traceback" not in sent.text
    return sent.json()


@pytest.mark.parametrize(
    ("change", "reason", "step"),
    [
        (lambda f: f["steps"][2].update(next="classify"), "flow-cycle", "billing"),
        (lambda f: f["steps"][3].update(prompt="nobody"), "unknown-prompt", "general"),
        (
            lambda f: f["steps"].insert(0, {"name": "run", "kind": "tool", "tool": "os_system"}),
            "unknown-tool",
            "run",
        ),
        (
            lambda f: f["steps"].insert(
                0,
                {
                    "name": "again",
                    "kind": "loop",
                    "body": [{"name": "x", "kind": "transform", "template": "x"}],
                },
            ),
            "unbounded-loop",
            "again",
        ),
        (lambda f: f["steps"][1]["when"].update(var="classify.label"), "flow-type-error", "route"),
    ],
)
def test_a_refused_flow_is_a_problem_naming_the_step(
    api: tuple[TestClient, str], change: Any, reason: str, step: str
) -> None:
    client, owner = api
    flow = copy.deepcopy(FLOW_EXAMPLE)
    change(flow)
    problem = _refusal(client, owner, flow)
    assert (problem["reason"], problem["step"]) == (reason, step)
    assert step in problem["detail"]


def test_only_the_operators_tools_may_be_named(api: tuple[TestClient, str]) -> None:
    client, owner = api
    flow = copy.deepcopy(FLOW_EXAMPLE)
    flow["steps"].insert(
        0, {"name": "n", "kind": "tool", "tool": "count", "inputs": {"obj": "question"}}
    )
    made = client.post("/v1/flows", json={"name": "counted", "flow": flow}, headers=_headers(owner))
    assert made.status_code == 201, made.text


def test_a_run_over_http_targets_a_flow_and_lists_its_traces(api: tuple[TestClient, str]) -> None:
    client, owner = api
    h = _headers(owner)
    flow = copy.deepcopy(FLOW_EXAMPLE)
    made = client.post("/v1/flows", json={"name": "runnable", "flow": flow}, headers=h)
    assert made.status_code == 201, made.text
    started = client.post(
        "/v1/runs",
        json={"flow": "runnable@main", "dataset": "tickets", "models": ["openai/sim-large"]},
        headers=h,
    )
    assert started.status_code in (201, 202), started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/runs/{run_id}", headers=h).json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cells = client.get(f"/v1/runs/{run_id}/cells", headers=h).json()["items"]
    assert len(cells) == 2
    for cell in cells:
        steps = [entry["step"] for entry in cell["trace"]]
        assert steps[:2] == ["classify", "route"]
        assert cell["output"] == cell["trace"][-1]["output"]
    steps = client.get(f"/v1/runs/{run_id}/steps", headers=h).json()
    by_step = {s["step"]: s for s in steps}
    assert by_step["classify"]["runs"] == 2 and by_step["classify"]["errors"] == 0
    assert by_step["classify"]["prompt_tokens"] == sum(
        c["trace"][0]["prompt_tokens"] for c in cells
    )
    assert client.get(f"/v1/runs/{run_id}/steps", headers=_headers("mallory")).status_code == 404
    # A prompt command writing plain text onto the flow's prompt does not make it runnable.
    plain = client.post(
        "/v1/prompts/flow:runnable/versions", json={"template": "hi {{ q }}"}, headers=h
    )
    assert plain.status_code == 201, plain.text
    refused = client.post(
        "/v1/runs",
        json={"flow": "runnable@main", "dataset": "tickets", "models": ["openai/sim-large"]},
        headers=h,
    )
    assert refused.status_code == 422 and refused.json()["reason"] == "not-a-flow"
    assert client.get("/v1/flows/runnable", headers=h).json()["reason"] == "not-a-flow"
    both = client.post(
        "/v1/runs",
        json={
            "flow": "runnable",
            "prompt": "triage",
            "dataset": "tickets",
            "models": ["openai/sim-large"],
        },
        headers=h,
    )
    assert both.status_code == 422 and both.json()["reason"] == "bad-run"


CHAT_FLOW = {
    "inputs": ["question", "script"],
    "output": "reply",
    "steps": [
        {
            "name": "chat",
            "kind": "conversation",
            "prompt": "agent",
            "user": {"script": "script"},
            "max_turns": 3,
        },
        {"name": "reply", "kind": "llm", "prompt": "tidy", "tools": ["dedent"]},
    ],
}


def test_over_http_cases_hold_histories_and_flows_converse_and_call_operator_tools(
    api: tuple[TestClient, str],
) -> None:
    client, owner = api
    h = _headers(owner)
    assert client.post("/v1/datasets", json={"name": "chats"}, headers=h).status_code == 201
    history = [
        {"role": "user", "content": "My parcel is late."},
        {"role": "assistant", "content": "Which order is it?"},
    ]
    cases = [
        {"id": "c1", "vars": {"question": "  late parcel", "script": ["It is 42.", "Thanks"]}},
        {"id": "c2", "vars": {"question": "  lost", "script": ["Order 7."]}, "messages": history},
    ]
    added = client.post("/v1/datasets/chats/versions", json={"cases": cases}, headers=h)
    assert added.status_code == 201, added.text
    bad = [{"vars": {"q": "x"}, "messages": [{"role": "tool", "content": "x"}]}]
    refused = client.post("/v1/datasets/chats/versions", json={"cases": bad}, headers=h)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    # Only the operator's tools may be offered to a model; a user's name is refused.
    foreign = copy.deepcopy(CHAT_FLOW)
    foreign["steps"][1]["tools"] = ["shell"]
    problem = _refusal(client, owner, foreign)
    assert (problem["reason"], problem["step"]) == ("unknown-tool", "reply")
    unbounded = copy.deepcopy(CHAT_FLOW)
    del unbounded["steps"][0]["max_turns"]
    problem = _refusal(client, owner, unbounded)
    assert (problem["reason"], problem["step"]) == ("unbounded-conversation", "chat")
    made = client.post("/v1/flows", json={"name": "chat", "flow": CHAT_FLOW}, headers=h)
    assert made.status_code == 201, made.text
    started = client.post(
        "/v1/runs",
        json={
            "flow": "chat@main",
            "dataset": "chats",
            "models": ["openai/sim-large"],
            "scorers": [
                {
                    "type": "each-turn",
                    "args": {"scorer": {"type": "regex", "args": {"pattern": "\\S"}}},
                    "name": "every-turn-said",
                },
                {"type": "tool-called", "args": {"name": "dedent"}},
            ],
        },
        headers=h,
    )
    assert started.status_code in (201, 202), started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/runs/{run_id}", headers=h).json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cells = {
        c["case_id"]: c for c in client.get(f"/v1/runs/{run_id}/cells", headers=h).json()["items"]
    }
    assert set(cells) == {"c1", "c2"}
    for case_id, turns in (("c1", 2), ("c2", 1)):
        cell = cells[case_id]
        assert cell["error"] is None, cell["error"]
        trace = cell["trace"]
        said = [e for e in trace if e["step"] == "chat.assistant"]
        assert len(said) == turns and [e["step"] for e in trace][-1] == "reply"
        scripted = [e["output"] for e in trace if e["step"] == "chat.user"]
        assert scripted == [c for c in cases if c["id"] == case_id][0]["vars"]["script"]
        (tool,) = [e for e in trace if e["step"] == "reply.tool"]
        assert tool["tool"] == "dedent" and "error" not in tool
        assert cell["scores"]["tool-called"] == 1.0
        assert [c["name"] for c in cell["tool_calls"]] == ["dedent"]
    # The case's history came before the scripted turn: it costs prompt tokens.
    first_turn = {k: c["trace"][1]["prompt_tokens"] for k, c in cells.items()}
    assert first_turn["c2"] > first_turn["c1"]
