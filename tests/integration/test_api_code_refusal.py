"""Over the real app in-process (`create_app` on an inline engine): code assertions sent over
HTTP are refused with a stable problem type before anything is stored."""

from __future__ import annotations

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
from api.services import ApiServices
from engine.keys import Keyring, new_master_key
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="c" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
CODE_NOT_ALLOWED = "https://autoforge.dev/problems/code-not-allowed"
PYTHON = {"type": "python", "args": {"expression": "__import__('os').system('touch /tmp/x')"}}


@pytest.fixture(scope="module")
def client(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-code")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("c"))
    )
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as test_client:
        user = f"user-{uuid.uuid4().hex[:8]}"
        test_client.headers["Authorization"] = f"Bearer {create_token(SETTINGS, user)}"
        assert test_client.post("/v1/prompts", json={"name": "qa", "template": "{{q}}"}).is_success
        assert test_client.post("/v1/datasets", json={"name": "cases"}).is_success
        cases = {"cases": [{"vars": {"q": f"{i}+1?"}, "expected": str(i + 1)} for i in range(6)]}
        assert test_client.post("/v1/datasets/cases/versions", json=cases).is_success
        yield test_client
    services.close()
    engine.close()


def _refused(response: Any, names: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = response.json()
    assert problem["type"] == CODE_NOT_ALLOWED
    assert problem["title"] == "Code execution not allowed"
    assert problem["reason"] == "code-scorer" and names in problem["detail"]
    assert "Traceback" not in response.text


def _count(client: TestClient, resource: str) -> int:
    return len(client.get(resource, params={"limit": 100}).json()["items"])


@pytest.mark.parametrize(
    "scorers",
    [
        [PYTHON],
        ["javascript"],
        ["icontains", {"type": "javascript", "name": "js", "args": {"expression": "true"}}],
    ],
)
def test_a_run_with_a_code_scorer_is_refused_and_not_stored(
    client: TestClient, scorers: list[Any]
) -> None:
    before = _count(client, "/v1/runs")
    body = {"prompt": "qa", "dataset": "cases", "models": ["openai/sim-small"]}
    _refused(client.post("/v1/runs", json={**body, "scorers": scorers}), "run code")
    assert _count(client, "/v1/runs") == before


def test_an_optimization_with_a_code_scorer_is_refused_and_not_stored(client: TestClient) -> None:
    before = _count(client, "/v1/optimizations")
    body = {
        "prompt": "qa",
        "dataset": "cases",
        "models": ["openai/sim-small"],
        "scorers": [{**PYTHON, "name": "sneaky"}],
        "optimizer": "random",
        "split": [0.34, 0.33, 0.33],
    }
    _refused(client.post("/v1/optimizations", json=body), "'sneaky'")
    assert _count(client, "/v1/optimizations") == before


def test_the_same_run_without_the_code_scorer_starts(client: TestClient) -> None:
    body = {"prompt": "qa", "dataset": "cases", "models": ["openai/sim-small"]}
    assert client.post("/v1/runs", json={**body, "scorers": ["icontains"]}).status_code == 202


def test_a_case_with_its_own_code_scorer_is_refused_as_json_and_as_an_upload(
    client: TestClient,
) -> None:
    versions = "/v1/datasets/cases/versions"
    before = _count(client, versions)
    case = {"vars": {"q": "x"}, "expected": "x", "scorers": [{**PYTHON, "name": "own"}]}
    _refused(client.post(versions, json={"cases": [case]}), "'own'")
    row = '{"vars": {"q": "y"}, "scorers": [{"type": "javascript", "args": {"expression": "1"}}]}'
    upload = client.post(
        "/v1/datasets/cases/import",
        content=f'{{"vars": {{"q": "z"}}}}\n{row}\n',
        headers={"Content-Type": "application/x-ndjson"},
    )
    _refused(upload, "'javascript'")
    assert _count(client, versions) == before
    plain = {"vars": {"q": "x"}, "scorers": [{"type": "icontains", "args": {"value": "x"}}]}
    assert client.post(versions, json={"cases": [plain]}).status_code == 201
