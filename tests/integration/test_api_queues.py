"""Over the real app in-process (`create_app` on an inline engine, its real Redis and libSQL
file): two annotators on one queue with kappa checked by hand, their verdicts changing the
run's effective pass rate exactly as recomputed, a pairwise queue whose left/right order is
recorded and undone in the tally, live events on the stream, 404 across owners and
problem+json for bad input. The run's cells are recorded straight into the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.evaluation.queues import QueueStore
from engine.evaluation.runs import RunStore
from engine.keys import Keyring, new_master_key

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="q" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
JUDGE = {"type": "llm-judge", "name": "judge", "args": {"model": "m", "rubric": "r"}}
CASES = tuple(f"c{i}" for i in range(8))


def _headers(user: str, ttl: int = 3600, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {create_token(SETTINGS, user, ttl)}"}
    if workspace is not None:
        headers["X-Autoforge-Workspace"] = workspace
    return headers


@dataclass
class Api:
    client: TestClient
    owner: str
    """The shared workspace holding the run (alice owns it; ann and bob annotate)."""
    alice: str
    run_id: str
    versions: tuple[str, str]
    runs: RunStore
    queues: QueueStore


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-queues")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("q"))
    )
    alice = f"alice-{uuid.uuid4().hex[:6]}"
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        team = client.post("/v1/workspaces", json={"name": "qa team"}, headers=_headers(alice))
        assert team.status_code == 201, team.text
        owner = team.json()["id"]
        for member, role in (("ann", "annotator"), ("bob", "annotator"), ("eve", "annotator"),
                             ("vic", "viewer")):  # fmt: skip
            added = client.post(
                f"/v1/workspaces/{owner}/members",
                json={"user_id": member, "role": role},
                headers=_headers(alice),
            )
            assert added.status_code == 201, added.text
        made = client.post(
            "/v1/prompts",
            json={"name": "qa", "template": "{{q}}"},
            headers=_headers(alice, workspace=owner),
        )
        assert made.status_code == 201, made.text
        first = made.json()["head"]
        second = client.post(
            "/v1/prompts/qa/versions",
            json={"template": "Q: {{q}}"},
            headers=_headers(alice, workspace=owner),
        )
        assert second.status_code == 201, second.text
        versions = (first, second.json()["id"])
        runs = RunStore(engine.runtime.db)
        spec = RunSpec(made.json()["id"], versions, ("m",), "dv", CASES, (JUDGE,))
        run = runs.create(owner, spec)
        runs.record(
            [
                ResultRow(
                    run_id=run.id,
                    prompt_version=v,
                    model="m",
                    case_id=case,
                    output=f"{n}:{case}",
                    passed=i % 2 == 0,
                    score=0.9 if i % 2 == 0 else 0.1,
                    scores={"judge": 0.9 if i % 2 == 0 else 0.1},
                )
                for n, v in enumerate(versions)
                for i, case in enumerate(CASES)
            ]
        )
        queues = QueueStore(engine.runtime.db, runs)
        yield Api(client, owner, alice, run.id, versions, runs, queues)
    services.close()
    engine.close()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "Traceback" not in response.text
    return dict(response.json())


def _pass_rate(api: Api) -> float:
    headers = _headers(api.alice, workspace=api.owner)
    report = _ok(api.client.get(f"/v1/runs/{api.run_id}/report", headers=headers))
    rates = [g["pass_rate"] for g in report["groups"]]
    sizes = [g["n_graded"] for g in report["groups"]]
    return sum(r * n for r, n in zip(rates, sizes, strict=True)) / sum(sizes)


def test_two_annotators_kappa_and_the_effective_pass_rate(api: Api) -> None:
    client, h = api.client, _headers(api.alice, workspace=api.owner)
    before = _pass_rate(api)
    assert before == 0.5
    body = {"runs": [api.run_id], "filter": "failed", "annotators_per_item": 2,
            "assignees": ["ann", "bob"], "name": "fails"}  # fmt: skip
    made = client.post("/v1/queues", json=body, headers=h)
    queue = _ok(made, 201)
    assert made.headers["Location"] == f"/v1/queues/{queue['id']}"
    assert queue["item_count"] == 8  # 4 failing cases × 2 versions
    # ann: P P P P F F F F; bob: P P F F F F F P (by item position).
    plan = {"ann": "PPPPFFFF", "bob": "PPFFFFFP"}
    for who, verdicts in plan.items():
        for letter in verdicts:
            mine = _headers(who, workspace=api.owner)  # each annotator signs in as themself
            got = _ok(client.post(f"/v1/queues/{queue['id']}/next", json={}, headers=mine))["item"]
            assert got["kind"] == "single" and got["passed"] is False
            answer = {"verdict": "pass" if letter == "P" else "fail"}
            url = f"/v1/queues/{queue['id']}/items/{got['position']}/submit"
            assert _ok(client.post(url, json=answer, headers=mine), 201)["status"] == "done"
    ann = _headers("ann", workspace=api.owner)
    nothing = client.post(f"/v1/queues/{queue['id']}/next", json={}, headers=ann)
    assert _ok(nothing) == {"item": None}
    # By hand: 8 items; both pass 2, ann pass & bob fail 2, ann fail & bob pass 1, both
    # fail 3. p_o = 5/8. ann passes 4/8, bob 3/8: p_e = (4*3 + 4*5) / 64 = 32/64 = 0.5.
    # kappa = (0.625 - 0.5) / 0.5 = 0.25.
    agreed = _ok(client.get(f"/v1/queues/{queue['id']}/agreement", headers=h))
    assert (agreed["method"], agreed["n_items"], agreed["annotators"]) == (
        "cohen",
        8,
        ["ann", "bob"],
    )
    assert agreed["kappa"] == pytest.approx(0.25)
    assert agreed["observed"] == pytest.approx(5 / 8)
    progress = _ok(client.get(f"/v1/queues/{queue['id']}/progress", headers=h))
    assert (progress["answers"], progress["needed"], progress["complete"]) == (16, 16, 8)
    assert {a["annotator"]: a["done"] for a in progress["annotators"]} == {"ann": 8, "bob": 8}
    # Recomputed independently: every failing cell now carries its latest verdict (bob
    # answered last), the passing cells keep the scorers'.
    cells = api.runs.results(api.owner, api.run_id)
    items = api.queues.items(api.owner, queue["id"])
    latest = {(i.prompt_version, i.case_id): plan["bob"][i.position] == "P" for i in items}
    expected = [latest.get((c.prompt_version, c.case_id), bool(c.passed)) for c in cells]
    assert _pass_rate(api) == pytest.approx(sum(expected) / len(expected))
    assert _pass_rate(api) == pytest.approx((8 + 3) / 16)
    report = _ok(client.get(f"/v1/runs/{api.run_id}/report", headers=h))
    assert report["feedback"]["summary"]["n_overridden"] == 8
    (judge,) = report["feedback"]["judges"]
    assert judge["n"] == 8  # the queue's verdicts reach judge alignment


def test_pairwise_order_is_recorded_and_undone_in_the_tally(api: Api) -> None:
    client, h = api.client, _headers(api.alice, workspace=api.owner)
    body = {"runs": [api.run_id], "kind": "pairwise", "seed": 7, "annotators_per_item": 1}
    queue = _ok(client.post("/v1/queues", json=body, headers=h), 201)
    assert queue["versions"] == list(api.versions) and queue["item_count"] == len(CASES)
    items = {i.position: i for i in api.queues.items(api.owner, queue["id"])}
    swapped = sum(i.swapped for i in items.values())
    assert 0 < swapped < len(items)  # both orders were drawn, and each was recorded
    while got := _ok(client.post(f"/v1/queues/{queue['id']}/next", json={}, headers=h))["item"]:
        item = items[got["position"]]
        assert "prompt_version" not in got or got["prompt_version"] is None  # blind
        # The right-hand output comes from version B exactly when the item was not swapped.
        assert got["right"].startswith("1:" if not item.swapped else "0:")
        url = f"/v1/queues/{queue['id']}/items/{got['position']}/submit"
        _ok(client.post(url, json={"choice": "right"}, headers=h), 201)
    tally = _ok(client.get(f"/v1/queues/{queue['id']}/agreement", headers=h))["tally"]
    # Always "right": a vote for B on every plain item, for A on every swapped one.
    assert tally["a"] == [api.run_id, api.versions[0], "m"]
    assert (tally["wins_a"], tally["wins_b"], tally["ties"]) == (swapped, len(items) - swapped, 0)


def test_answers_are_live_events_on_the_queue_stream(api: Api) -> None:
    client, h = api.client, _headers(api.alice, workspace=api.owner)
    queue = _ok(client.post("/v1/queues", json={"runs": [api.run_id]}, headers=h), 201)
    got = _ok(client.post(f"/v1/queues/{queue['id']}/next", json={}, headers=h))["item"]
    base = f"/v1/queues/{queue['id']}/items"
    _ok(client.post(f"{base}/{got['position']}/submit", json={"score": 0.7}, headers=h), 201)
    _ok(client.post(f"{base}/{got['position'] + 1}/skip", json={}, headers=h))
    url = f"/v1/streams/queues/{queue['id']}/events"
    with client.websocket_connect(url, headers=h) as socket:
        events = [socket.receive_json() for _ in range(2)]
    assert [e["event"] for e in events] == ["answered", "skipped"]
    assert events[0]["data"]["answers"] == 1 and events[0]["data"]["annotator"] == api.alice
    stranger = _headers(f"mallory-{uuid.uuid4().hex[:6]}")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(url, headers=stranger) as socket,
    ):
        socket.receive_json()
    assert refused.value.code == 4404


def test_another_users_queue_is_not_found_and_bad_input_is_a_problem(api: Api) -> None:
    client, h = api.client, _headers(api.alice, workspace=api.owner)
    queue = _ok(client.post("/v1/queues", json={"runs": [api.run_id]}, headers=h), 201)
    other = _headers(f"mallory-{uuid.uuid4().hex[:6]}")
    qid = queue["id"]
    for method, url, body in (
        ("GET", f"/v1/queues/{qid}", None),
        ("POST", f"/v1/queues/{qid}/next", {}),
        ("POST", f"/v1/queues/{qid}/items/0/submit", {"verdict": "pass"}),
        ("POST", f"/v1/queues/{qid}/items/0/skip", {}),
        ("GET", f"/v1/queues/{qid}/progress", None),
        ("GET", f"/v1/queues/{qid}/agreement", None),
        ("POST", "/v1/queues", {"runs": [api.run_id]}),
    ):
        problem = _problem(client.request(method, url, json=body, headers=other), 404)
        assert problem["type"] == "https://autoforge.dev/problems/not-found"
    assert _ok(client.get("/v1/queues", headers=other))["items"] == []
    listed = _ok(client.get("/v1/queues", params={"limit": 1}, headers=h))
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    submit = f"/v1/queues/{qid}/items/0/submit"
    no_label = _problem(client.post(submit, json={"comment": "hm"}, headers=h), 422)
    assert no_label["reason"] == "no-label"
    _problem(client.post(submit, json={"score": 1.5}, headers=h), 422)
    _problem(client.post(submit, json={"verdict": "maybe"}, headers=h), 422)
    _problem(client.post(f"/v1/queues/{qid}/items/999/submit", json={"verdict": "pass"},
                         headers=h), 404)  # fmt: skip
    _problem(client.post("/v1/queues", json={"runs": []}, headers=h), 422)
    empty = _problem(
        client.post("/v1/queues", json={"runs": [api.run_id], "filter": "near-threshold",
                                        "scorer": "nope"}, headers=h), 422)  # fmt: skip
    assert empty["reason"] == "unknown-scorer"
    broken = {**h, "Content-Type": "application/json"}
    _problem(client.post("/v1/queues", content=b"{", headers=broken), 400)
    _ok(client.post(submit, json={"verdict": "pass"}, headers=h), 201)
    twice = _problem(client.post(submit, json={"verdict": "fail"}, headers=h), 409)
    assert twice["type"] == "https://autoforge.dev/problems/conflict"
    assert twice["reason"] == "already-answered"


def test_roles_decide_who_creates_and_who_works_a_queue(api: Api) -> None:
    client = api.client
    ann, vic = _headers("ann", workspace=api.owner), _headers("vic", workspace=api.owner)
    refused = _problem(client.post("/v1/queues", json={"runs": [api.run_id]}, headers=ann), 403)
    assert refused["type"] == "https://autoforge.dev/problems/forbidden"
    h = _headers(api.alice, workspace=api.owner)
    queue = _ok(client.post("/v1/queues", json={"runs": [api.run_id]}, headers=h), 201)
    nxt = f"/v1/queues/{queue['id']}/next"
    posing = _problem(client.post(nxt, json={"annotator": "bob"}, headers=ann), 403)
    assert posing["reason"] == "annotator-not-caller"
    assert _ok(client.post(nxt, json={"annotator": "ann"}, headers=ann))["item"] is not None
    _problem(client.post(nxt, json={}, headers=vic), 403)  # a viewer reads only
    assert _ok(client.get(f"/v1/queues/{queue['id']}/progress", headers=vic))["answers"] == 0


def test_an_editor_reassigns_an_annotators_open_items_and_an_annotator_may_not(api: Api) -> None:
    client, h = api.client, _headers(api.alice, workspace=api.owner)
    ann, bob = _headers("ann", workspace=api.owner), _headers("bob", workspace=api.owner)
    viewer = {"runs": [api.run_id], "assignees": ["ann", "vic"], "name": "no"}
    refused = _problem(client.post("/v1/queues", json=viewer, headers=h), 422)
    assert refused["field"] == "assignees" and "'vic'" in refused["detail"]  # a viewer
    body = {"runs": [api.run_id], "assignees": ["ann", "eve"], "name": "handover"}
    queue = _ok(client.post("/v1/queues", json=body, headers=h), 201)
    url = f"/v1/queues/{queue['id']}"
    first = _ok(client.post(f"{url}/next", json={}, headers=ann))["item"]
    assert first["position"] == 0
    handover = {"from": "ann", "to": "bob"}
    refused = _problem(client.post(f"{url}/reassign", json=handover, headers=ann), 403)
    assert refused["permission"] == "queue.manage"
    moved = _ok(client.post(f"{url}/reassign", json={**handover, "positions": [0, 2]}, headers=h))
    assert moved == {"moved": [0, 2], "assignees": ["ann", "eve", "bob"]}
    taken = _ok(client.post(f"{url}/next", json={}, headers=bob))["item"]
    assert taken["position"] == 0  # ann's claim on it ended with the move
    assert _ok(client.post(f"{url}/next", json={}, headers=ann))["item"]["position"] == 4
    stuck = _problem(client.post(f"{url}/reassign", json={**handover, "positions": [1]},
                                 headers=h), 409)  # fmt: skip
    assert (stuck["reason"], stuck["positions"]) == ("not-movable", [1])  # item 1 is eve's
    outsider = _problem(client.post(f"{url}/reassign", json={"from": "ann", "to": "zed"},
                                    headers=h), 422)  # fmt: skip
    assert outsider["field"] == "to"  # not a member
    bad = _problem(client.post(f"{url}/reassign", json={"from": "ann"}, headers=h), 422)
    assert "Traceback" not in str(bad)
    _problem(client.post("/v1/queues/q_missing0000/reassign", json=handover, headers=h), 404)
    progress = _ok(client.get(f"{url}/progress", headers=h))
    assert {a["annotator"]: a["assigned"] for a in progress["annotators"]} == {
        "ann": 6, "bob": 2, "eve": 8,
    }  # fmt: skip
