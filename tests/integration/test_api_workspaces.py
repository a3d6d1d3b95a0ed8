"""Workspaces over the real app in-process (`create_app` on an inline engine): the permission
matrix read from the app's routes, cross-workspace isolation, and membership management."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.acting import AUTHENTICATED as NO_WORKSPACE
from api.acting import permission_of
from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from domain.workspaces import GRANTS
from engine.evaluation.runs import RunStore
from engine.keys import Keyring, new_master_key
from tests.workspace_matrix import (
    PROBLEMS,
    WORKSPACE_HEADER,
    Team,
    check,
    make_team,
    operations,
    outcomes,
)

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="w" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)


class Api:
    def __init__(self, client: TestClient, db: Any, app: Any) -> None:
        self.client = client
        self.db = db
        self.app = app

    def as_user(self, user: str, workspace: str | None = None) -> Callable[..., Any]:
        headers = {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}
        if workspace is not None:
            headers[WORKSPACE_HEADER] = workspace
        return _Caller(self.client, headers)


class _Caller:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.request(method, url, **kwargs)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-workspaces")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("w"))
    )
    app = create_app(services)
    with TestClient(app, client=("127.0.0.1", 40001)) as client:
        yield Api(client, engine.runtime.db, app)
    services.close()
    engine.close()


def test_every_v1_route_checks_one_permission(api: Api) -> None:
    routes = [
        (str(context.path_format), context.original_route)
        for context in iter_route_contexts(api.app.routes)
        if str(context.path_format).startswith("/v1")
    ]
    assert len(routes) > 40
    for path, route in routes:
        assert isinstance(route, APIRoute | APIWebSocketRoute), path
        found = permission_of(route.dependant)
        assert len(found) == 1, f"{path}: {found or 'no permission'}"
        assert found <= set(GRANTS["owner"]) | {NO_WORKSPACE}


def test_the_permission_matrix_over_every_route(api: Api) -> None:
    openapi = api.client.get("/openapi.json").json()
    ops = operations(openapi)
    assert {op.path for op in ops} >= {"/v1/prompts", "/v1/runs/{run_id}/feedback"}
    team = make_team(api.as_user)
    failures = [
        problem
        for op, role, r in outcomes(team, api.as_user, ops)
        if (problem := check(op, role, r))
    ]
    assert not failures, "\n".join(failures)
    # The document says it too.
    create = openapi["paths"]["/v1/prompts"]["post"]
    assert create["x-autoforge-permission"] == "prompts.write"
    assert "403" in create["responses"] and "roles: owner, editor" in create["description"]


def _recorded_run(api: Api, owner: Any, workspace_id: str, head: str, prompt_id: str) -> str:
    runs = RunStore(api.db)
    run = runs.create(workspace_id, RunSpec(prompt_id, (head,), ("m",), "dv", ("c1", "c2")))
    runs.record(
        [
            ResultRow(
                run_id=run.id,
                prompt_version=head,
                model="m",
                case_id=c,
                passed=c == "c1",
                score=1.0,
            )
            for c in ("c1", "c2")
        ]
    )
    return run.id


@pytest.fixture(scope="module")
def team(api: Api) -> Team:
    return make_team(api.as_user)


def test_roles_do_what_the_table_says_on_real_resources(api: Api, team: Team) -> None:
    member = {role: api.as_user(user, team.workspace_id) for role, user in team.members.items()}
    made = member["editor"]("POST", "/v1/prompts", json={"name": "qa", "template": "{{q}}"})
    assert made.status_code == 201, made.text
    prompt = made.json()
    denied = member["annotator"]("POST", "/v1/prompts", json={"name": "qb", "template": "{{q}}"})
    assert denied.status_code == 403 and denied.json()["type"] == f"{PROBLEMS}forbidden"
    assert member["viewer"]("GET", "/v1/prompts/qa").json()["id"] == prompt["id"]
    run_id = _recorded_run(api, member["owner"], team.workspace_id, prompt["head"], prompt["id"])
    given = member["annotator"](
        "POST", f"/v1/runs/{run_id}/feedback", json={"case_id": "c2", "verdict": "pass"}
    )
    assert given.status_code == 201, given.text
    assert given.json()["author"] == team.members["annotator"]  # a user, not the workspace
    assert (
        member["viewer"](
            "POST", f"/v1/runs/{run_id}/feedback", json={"case_id": "c1", "verdict": "fail"}
        ).status_code
        == 403
    )
    report = member["viewer"]("GET", f"/v1/runs/{run_id}/report")
    assert report.status_code == 200, report.text
    history = member["viewer"]("GET", "/v1/prompts/qa/versions").json()["items"]
    assert [v["author"] for v in history] == [team.members["editor"]]  # a user, not the team
    key = member["editor"]("PUT", "/v1/provider-keys/openai", json={"api_key": "sk-test-123456789"})
    assert key.status_code == 403
    key = member["owner"]("PUT", "/v1/provider-keys/openai", json={"api_key": "sk-test-123456789"})
    assert (
        key.status_code == 201
        and member["viewer"]("GET", "/v1/provider-keys/openai").json()["last4"] == "6789"
    )


def test_another_workspaces_ids_are_not_found(api: Api, team: Team) -> None:
    suffix = uuid.uuid4().hex[:6]
    alone = api.as_user(f"alone-{suffix}")  # personal workspace: no header
    made = alone("POST", "/v1/prompts", json={"name": "mine", "template": "{{q}}"})
    assert made.status_code == 201, made.text
    mine = made.json()
    run_id = _recorded_run(api, alone, f"alone-{suffix}", mine["head"], mine["id"])
    owner = api.as_user(team.members["owner"], team.workspace_id)
    for url in ("/v1/prompts/mine", f"/v1/prompts/{mine['id']}", f"/v1/runs/{run_id}"):
        assert owner("GET", url).status_code == 404, url
    assert (
        owner(
            "POST", f"/v1/runs/{run_id}/feedback", json={"case_id": "c1", "verdict": "fail"}
        ).status_code
        == 404
    )
    # ...and the team's owner's own personal workspace does not see the team's either.
    personal = api.as_user(team.members["owner"])
    assert "qa" not in [p["name"] for p in personal("GET", "/v1/prompts").json()["items"]]
    # Naming a workspace one is not in: 404, whether it exists or not; another's personal too.
    for workspace in (team.workspace_id, "ws_doesnotexist00000", team.members["owner"]):
        answer = alone("GET", "/v1/prompts", headers={WORKSPACE_HEADER: workspace})
        assert answer.status_code == 404 and answer.json()["reason"] == "unknown-workspace"
    assert alone("GET", f"/v1/workspaces/{team.workspace_id}/members").status_code == 404


def test_membership_management_over_http(api: Api) -> None:
    suffix = uuid.uuid4().hex[:6]
    ann, bob = f"ann-{suffix}", f"bob-{suffix}"
    as_ann, as_bob = api.as_user(ann), api.as_user(bob)
    listed = as_ann("GET", "/v1/workspaces").json()["items"]
    assert [(w["id"], w["kind"], w["role"]) for w in listed] == [(ann, "personal", "owner")]
    team = as_ann("POST", "/v1/workspaces", json={"name": "crew"}).json()
    base = f"/v1/workspaces/{team['id']}"
    assert (
        as_ann("POST", f"{base}/members", json={"user_id": bob, "role": "viewer"}).status_code
        == 201
    )
    again = as_ann("POST", f"{base}/members", json={"user_id": bob, "role": "editor"})
    assert again.status_code == 409 and again.json()["reason"] == "already-member"
    bad = as_ann("POST", f"{base}/members", json={"user_id": "ws_sneaky", "role": "viewer"})
    assert bad.status_code == 422
    assert (
        as_ann("POST", f"{base}/members", json={"user_id": "x", "role": "admin"}).status_code == 422
    )
    assert as_bob("PUT", f"{base}/members/{bob}", json={"role": "owner"}).status_code == 403
    for call in (
        as_ann("PUT", f"{base}/members/{ann}", json={"role": "viewer"}),
        as_ann("DELETE", f"{base}/members/{ann}"),
    ):
        assert call.status_code == 409 and call.json()["reason"] == "last-owner"
    promoted = as_ann("PUT", f"{base}/members/{bob}", json={"role": "owner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    assert as_bob("DELETE", f"{base}/members/{ann}").status_code == 204
    assert as_ann("GET", base).status_code == 404  # ann is out
    members = as_bob("GET", f"{base}/members").json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(bob, "owner")]
    assert as_bob("PATCH", base, json={"name": "renamed"}).json()["name"] == "renamed"
    personal = as_bob(
        "POST", f"/v1/workspaces/{bob}/members", json={"user_id": ann, "role": "viewer"}
    )
    assert personal.status_code == 409 and personal.json()["reason"] == "personal-workspace"
