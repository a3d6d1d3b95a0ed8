"""Annotation queues over real HTTP through Ray Serve (`serve.start` + `api.serve.deploy`, as
`autoforge serve` does): two annotators on one queue with Cohen's kappa checked by hand,
their verdicts moving the run's pass rate as recomputed, a pairwise queue's order undone in
its tally, live events over a WebSocket from the streams application, 404 across users.
The run's cells are recorded straight into the replica's database file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from api.auth import create_token
from api.config import ApiSettings
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.db import create_db_engine
from engine.evaluation.queues import QueueStore
from engine.evaluation.runs import RunStore
from tests.e2e.serving import hs256_overrides, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "queues-secret-" + "q" * 32
CASES = tuple(f"c{i}" for i in range(6))


@dataclass
class Api:
    base: str
    settings: ApiSettings
    db_url: str

    def client(self, user: str, workspace: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {create_token(self.settings, user)}"}
        if workspace is not None:
            headers["X-Autoforge-Workspace"] = workspace
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def api(
    ray_cluster: dict[str, Any], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("queues-serve")
    overrides = hs256_overrides(data, redis_url, SECRET, rate_limit_per_minute=100_000)
    with serving(overrides) as base:
        yield Api(base, ApiSettings(**overrides), overrides["database_url"])  # type: ignore[arg-type]


@dataclass
class Recorded:
    owner: str
    """The shared workspace of the run: alice owns it, ann and bob annotate."""
    alice: str
    client: httpx.Client
    run_id: str
    versions: tuple[str, str]


@pytest.fixture(scope="module")
def recorded(api: Api) -> Iterator[Recorded]:
    alice = f"alice-{uuid.uuid4().hex[:6]}"
    with api.client(alice) as personal:
        owner = _ok(personal.post("/v1/workspaces", json={"name": "review"}), 201)["id"]
        for member in ("ann", "bob"):
            added = {"user_id": member, "role": "annotator"}
            _ok(personal.post(f"/v1/workspaces/{owner}/members", json=added), 201)
    with api.client(alice, owner) as client:
        made = client.post("/v1/prompts", json={"name": "qa", "template": "{{q}}"})
        assert made.status_code == 201, made.text
        again = client.post("/v1/prompts/qa/versions", json={"template": "Q: {{q}}"})
        assert again.status_code == 201, again.text
        versions = (made.json()["head"], again.json()["id"])
        db = create_db_engine(api.db_url)
        runs = RunStore(db)
        run = runs.create(owner, RunSpec(made.json()["id"], versions, ("m",), "dv", CASES))
        runs.record(
            [
                ResultRow(
                    run_id=run.id,
                    prompt_version=v,
                    model="m",
                    case_id=c,
                    output=f"{n}:{c}",
                    passed=i % 2 == 0,
                    score=float(i % 2 == 0),
                )
                for n, v in enumerate(versions)
                for i, c in enumerate(CASES)
            ]  # fmt: skip
        )
        db.dispose()
        yield Recorded(owner, alice, client, run.id, versions)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _pass_rate(r: Recorded) -> float:
    groups = _ok(r.client.get(f"/v1/runs/{r.run_id}/report"))["groups"]
    graded = sum(g["n_graded"] for g in groups)
    return float(sum(g["pass_rate"] * g["n_graded"] for g in groups) / graded)


def test_two_annotators_agree_as_computed_by_hand_and_move_the_pass_rate(
    api: Api, recorded: Recorded
) -> None:
    client = recorded.client
    assert _pass_rate(recorded) == 0.5
    body = {"runs": [recorded.run_id], "filter": "failed", "annotators_per_item": 2}
    queue = _ok(client.post("/v1/queues", json=body), 201)
    assert queue["item_count"] == 6  # 3 failing cases × 2 versions
    url = f"{api.base.replace('http', 'ws', 1)}/v1/streams/queues/{queue['id']}/events"
    headers = {
        "Authorization": f"Bearer {create_token(api.settings, recorded.alice)}",
        "X-Autoforge-Workspace": recorded.owner,
    }
    # ann: P P P F F F; bob: P F F F F P. Both pass 1, ann P & bob F 2, ann F & bob P 1,
    # both fail 2. p_o = 3/6. ann passes 3/6, bob 2/6: p_e = (3*2 + 3*4) / 36 = 0.5.
    # kappa = (0.5 - 0.5) / 0.5 = 0.
    plan = {"ann": "PPPFFF", "bob": "PFFFFP"}
    with connect(url, additional_headers=headers, open_timeout=30) as ws:
        for who, letters in plan.items():
            with api.client(who, recorded.owner) as annotator:  # each signs in as themself
                for letter in letters:
                    nxt = f"/v1/queues/{queue['id']}/next"
                    item = _ok(annotator.post(nxt, json={}))["item"]
                    answer = {"verdict": "pass" if letter == "P" else "fail"}
                    submit = f"/v1/queues/{queue['id']}/items/{item['position']}/submit"
                    _ok(annotator.post(submit, json=answer), 201)
        events = [json.loads(ws.recv(timeout=30)) for _ in range(12)]
    assert [e["data"]["answers"] for e in events] == list(range(1, 13))
    agreed = _ok(client.get(f"/v1/queues/{queue['id']}/agreement"))
    assert (agreed["method"], agreed["n_items"]) == ("cohen", 6)
    assert agreed["kappa"] == pytest.approx(0.0) and agreed["observed"] == pytest.approx(0.5)
    # Recomputed: the failing cells now carry bob's (the latest) verdict, 2 passes of 6;
    # the 6 passing cells stay: (6 + 2) / 12.
    db = create_db_engine(api.db_url)
    items = QueueStore(db, RunStore(db)).items(recorded.owner, queue["id"])
    db.dispose()
    assert sum(plan["bob"][i.position] == "P" for i in items) == 2
    assert _pass_rate(recorded) == pytest.approx(8 / 12)


def test_pairwise_order_is_undone_in_the_tally_and_other_users_get_404(
    api: Api, recorded: Recorded
) -> None:
    client = recorded.client
    body = {"runs": [recorded.run_id], "kind": "pairwise", "seed": 3}
    queue = _ok(client.post("/v1/queues", json=body), 201)
    swapped = 0
    while item := _ok(client.post(f"/v1/queues/{queue['id']}/next", json={}))["item"]:
        swapped += item["left"].startswith("1:")  # version B shown on the left
        _ok(client.post(f"/v1/queues/{queue['id']}/items/{item['position']}/submit",
                        json={"choice": "left"}), 201)  # fmt: skip
    tally = _ok(client.get(f"/v1/queues/{queue['id']}/agreement"))["tally"]
    assert 0 < swapped < len(CASES)
    assert (tally["wins_a"], tally["wins_b"]) == (len(CASES) - swapped, swapped)
    with api.client(f"mallory-{uuid.uuid4().hex[:6]}") as other:
        for response in (
            other.get(f"/v1/queues/{queue['id']}"),
            other.post(f"/v1/queues/{queue['id']}/next", json={}),
            other.post("/v1/queues", json={"runs": [recorded.run_id]}),
        ):
            assert response.status_code == 404, response.text
            assert response.headers["content-type"] == "application/problem+json"
