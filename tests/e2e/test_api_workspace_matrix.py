"""Workspaces over real HTTP through Ray Serve (both applications as `autoforge serve` deploys
them): the permission matrix of every operation the deployed apps document, a run shared by a
team (an editor starts it, an annotator corrects it, a viewer reads and follows it), and
another workspace's ids answering 404."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from engine.cli.demo_data import SCORERS, V1, demo_cases
from tests.e2e.serving import hs256_overrides, serving
from tests.workspace_matrix import (
    PROBLEMS,
    WORKSPACE_HEADER,
    Team,
    check,
    make_team,
    operations,
    outcomes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "workspaces-secret-" + "w" * 32
SMALL = "openai/sim-small"
TERMINAL = {"completed", "cancelled", "budget-exceeded", "failed", "interrupted"}


@pytest.fixture(scope="module")
def served(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], httpx.Client]]:
    from engine.llm import simulator_catalogue

    catalogue = simulator_catalogue(simulator.api_base, max_concurrency=64)
    data = tmp_path_factory.mktemp("workspaces")
    overrides = hs256_overrides(data, redis_url, SECRET, catalogue, rate_limit_per_minute=100_000)
    clients: dict[str, httpx.Client] = {}
    with serving(overrides, api={"auth_failures_per_minute": 100_000}) as base:
        settings = ApiSettings(**overrides)  # type: ignore[arg-type]

        def client_of(user: str) -> httpx.Client:
            if user not in clients:
                token = create_token(settings, user)
                clients[user] = httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
            return clients[user]

        yield client_of
        for client in clients.values():
            client.close()


@pytest.fixture(scope="module")
def team(served: Callable[[str], httpx.Client]) -> Team:
    return make_team(served)


def test_the_permission_matrix_through_serve(
    served: Callable[[str], httpx.Client], team: Team
) -> None:
    anyone = served("reader-of-docs")
    api_ops = operations(anyone.get("/openapi.json").json())
    stream_ops = operations(anyone.get("/v1/streams/openapi.json").json(), prefix="/v1/streams")
    assert any(op.path.endswith("/events") for op in stream_ops)
    ops = api_ops + [op for op in stream_ops if op.path.startswith("/v1/streams/")]
    assert len(ops) > 50
    failures = [p for op, role, r in outcomes(team, served, ops) if (p := check(op, role, r))]
    assert not failures, "\n".join(failures)


def _wait(client: httpx.Client, run_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}", headers=headers).json()
        if run["status"] in TERMINAL:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not stop")


def test_a_team_shares_a_run_and_outsiders_see_nothing(
    served: Callable[[str], httpx.Client], team: Team
) -> None:
    ws = {WORKSPACE_HEADER: team.workspace_id}
    editor, annotator, viewer = (served(team.members[r]) for r in ("editor", "annotator", "viewer"))
    assert (
        editor.post(
            "/v1/prompts", json={"name": "qa", "template": V1["template"]}, headers=ws
        ).status_code
        == 201
    )
    assert editor.post("/v1/datasets", json={"name": "demo"}, headers=ws).status_code == 201
    added = editor.post("/v1/datasets/demo/versions", json={"cases": demo_cases(4)}, headers=ws)
    assert added.status_code == 201, added.text
    body = {
        "prompt": "qa",
        "dataset": "demo",
        "models": [SMALL],
        "seed": 3,
        "scorers": list(SCORERS),
    }
    refused = annotator.post("/v1/runs", json=body, headers=ws)
    assert refused.status_code == 403 and refused.json()["type"] == f"{PROBLEMS}forbidden"
    started = editor.post("/v1/runs", json=body, headers=ws)
    assert started.status_code == 202, started.text
    run = _wait(viewer, started.json()["id"], ws)
    assert run["status"] == "completed"
    cells = viewer.get(f"/v1/runs/{run['id']}/cells", headers=ws).json()["items"]
    given = annotator.post(
        f"/v1/runs/{run['id']}/feedback",
        json={"case_id": cells[0]["case_id"], "verdict": "fail", "comment": "wrong"},
        headers=ws,
    )
    assert given.status_code == 201 and given.json()["author"] == team.members["annotator"]
    report = viewer.get(f"/v1/runs/{run['id']}/report", headers=ws).json()
    assert report["feedback"]["summary"]["n_overridden"] == 1
    # A viewer follows the run's events; a browser names the workspace in the query string.
    url = f"/v1/streams/runs/{run['id']}/events"
    with viewer.stream("GET", url, params={"workspace": team.workspace_id}) as events:
        assert events.status_code == 200
        assert "started" in next(line for line in events.iter_lines() if line.startswith("data:"))
    # Outside the workspace (the members' personal ones included) the run does not exist.
    outsider = served(team.outsider)
    for client, headers in ((outsider, {}), (editor, {}), (outsider, ws)):
        for path in (f"/v1/runs/{run['id']}", "/v1/prompts/qa", url):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 404, (path, headers, answer.text)
    suffix = uuid.uuid4().hex[:6]
    loner = served(f"loner-{suffix}")
    assert loner.post("/v1/prompts", json={"name": "own", "template": "{{q}}"}).status_code == 201
    assert editor.get("/v1/prompts/own", headers=ws).status_code == 404
    assert [p["name"] for p in loner.get("/v1/prompts").json()["items"]] == ["own"]
