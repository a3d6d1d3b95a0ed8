"""`/v1/optimizations` and its stream are documented like every resource: summaries, models,
examples and problem+json errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from api.app import create_app, create_stream_app
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices
from engine.db import create_db_engine
from engine.sdk import Engine
from engine.settings import Settings

PREFIX = "/v1/optimizations"
OPERATIONS = {
    ("post", PREFIX),
    ("get", PREFIX),
    ("get", PREFIX + "/{optimization_id}"),
    ("get", PREFIX + "/{optimization_id}/candidates"),
    ("post", PREFIX + "/{optimization_id}/cancel"),
    ("post", PREFIX + "/{optimization_id}/resume"),
    ("post", PREFIX + "/{optimization_id}/promote"),
    ("get", PREFIX + "/{optimization_id}/report"),
    ("get", "/v1/streams/optimizations/{optimization_id}/events"),
}


def _services(tmp_path: Path, engine: Engine | None) -> ApiServices:
    db = create_db_engine(f"sqlite:///{tmp_path / 'docs.db'}")
    return ApiServices(
        settings=Settings(data_dir=tmp_path),
        db=db,
        redis_url="redis://127.0.0.1:9/0",
        engine=engine,
        on_close=[db.dispose],
    )


@pytest.fixture
def schema(tmp_path: Path) -> dict[str, Any]:
    # Building the document calls nothing: a stand-in engine is enough to mount the routers.
    services = _services(tmp_path, cast(Engine, object()))
    document: dict[str, Any] = create_app(services).openapi()
    services.close()
    return document


def _operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        if "optimizations" in path
        for method, operation in item.items()
    }


def test_every_optimization_route_is_mounted_once(schema: dict[str, Any]) -> None:
    assert set(_operations(schema)) == OPERATIONS


def test_every_operation_has_a_summary_documented_errors_and_examples(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    for (method, path), operation in _operations(schema).items():
        where = f"{method.upper()} {path}"
        assert operation["summary"] and "\n" not in operation["summary"], where
        assert operation["tags"] in (["optimizations"], ["streams"]), where
        responses = operation["responses"]
        assert {"401", "422", "429"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        for status, response in responses.items():
            if status[0] in "45":
                assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, (where, status)
        success = next(r for s, r in responses.items() if s.startswith("2"))
        assert success.get("content"), where
        body = operation.get("requestBody")
        if body is not None:
            body_schema = body["content"]["application/json"]["schema"]
            refs = [s.get("$ref", "") for s in body_schema.get("anyOf", [body_schema])]
            documented = components[next(r for r in refs if r).rsplit("/", 1)[-1]]
            # A resume's body is the runs' `ResumeIn`: optional and self-explanatory.
            assert documented.get("examples") or path.endswith("/resume"), where


def test_a_start_takes_an_idempotency_key_and_answers_202(schema: dict[str, Any]) -> None:
    start = _operations(schema)[("post", PREFIX)]
    names = [p["name"] for p in start["parameters"]]
    assert sorted(names) == ["Idempotency-Key", "X-Autoforge-Workspace"]
    assert "202" in start["responses"] and "409" in start["responses"]


def test_the_stream_app_serves_the_optimization_events_too(tmp_path: Path) -> None:
    services = _services(tmp_path, None)
    paths = create_stream_app(services).openapi()["paths"]
    services.close()
    assert "/optimizations/{optimization_id}/events" in paths
    assert "/runs/{run_id}/events" in paths
