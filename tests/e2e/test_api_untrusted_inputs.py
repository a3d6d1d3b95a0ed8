"""Over real HTTP (Ray Serve, as `autoforge serve` deploys it): a json-schema scorer that
points outside its schema and model parameters outside the allow-list are refused with 422
before any run exists, and nothing is fetched or read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from engine.cli.demo_data import V1, demo_cases
from tests.e2e.serving import hs256_overrides, serving
from tests.untrusted_refs import ref_server, remote_schemas, secret_file

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "untrusted-secret-" + "u" * 32


@pytest.fixture(scope="module")
def http(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    """Alice's client on a fresh deployment, with a prompt and a dataset of hers."""
    from engine.llm import simulator_catalogue

    catalogue = simulator_catalogue(simulator.api_base)
    data = tmp_path_factory.mktemp("untrusted-api")
    overrides = hs256_overrides(data, redis_url, SECRET, catalogue, rate_limit_per_minute=100_000)
    with serving(overrides) as base:
        token = create_token(ApiSettings(**overrides), f"alice-{uuid.uuid4().hex[:6]}")  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            assert client.post(
                "/v1/prompts", json={"name": "qa", "template": V1["template"]}
            ).is_success
            assert client.post("/v1/datasets", json={"name": "demo"}).is_success
            cases = {"cases": demo_cases(3)}
            assert client.post("/v1/datasets/demo/versions", json=cases).is_success
            yield client


def _refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert fragment in response.json()["detail"]


def _runs(http: httpx.Client) -> int:
    return len(http.get("/v1/runs", params={"limit": 100}).json()["items"])


def test_a_schema_pointing_at_a_url_or_a_file_gets_422_and_nothing_is_read(
    http: httpx.Client, tmp_path: Path
) -> None:
    private = secret_file(tmp_path)
    runs_before = _runs(http)
    with ref_server() as server:
        for schema in [*remote_schemas(server.url), {"$ref": private.as_uri()}]:
            scorer = {"type": "json-schema", "args": {"schema": schema}}
            body = {"prompt": "qa", "dataset": "demo", "models": ["openai/sim-small"]}
            _refused(http.post("/v1/runs", json={**body, "scorers": [scorer]}), "is refused")
        assert server.paths == []
    assert private.stat().st_atime == 0
    assert _runs(http) == runs_before


def test_settings_outside_the_allow_list_get_422_naming_the_parameter(http: httpx.Client) -> None:
    for name in ("custom_llm_provider", "mock_response", "extra_headers"):
        settings = {"extra": {name: "x"}}
        _refused(
            http.post("/v1/prompts/qa/versions", json={"settings": settings}),
            f"model parameter '{name}' is not accepted",
        )
        created = http.post(
            "/v1/prompts", json={"name": f"p-{name}", "template": "x", "settings": settings}
        )
        _refused(created, f"model parameter '{name}' is not accepted")
    assert len(http.get("/v1/prompts/qa/versions").json()["items"]) == 1
