"""The /v1 resources are documented: summaries, response models, examples, problems."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import PROBLEM_MEDIA_TYPE
from api.services import ApiServices
from engine.db import create_db_engine
from engine.sdk import Engine
from engine.settings import Settings

RESOURCES = (
    "/v1/prompts",
    "/v1/datasets",
    "/v1/runs",
    "/v1/models",
    "/v1/scorers",
    "/v1/queues",
    "/v1/flows",
)
BODYLESS_POSTS = {"archive", "restore", "cancel", "resume"}


def _schema(engine: Engine | None, tmp_path: Path) -> dict[str, Any]:
    db = create_db_engine(f"sqlite:///{tmp_path / 'docs.db'}")
    services = ApiServices(
        settings=Settings(data_dir=tmp_path),
        db=db,
        redis_url="redis://127.0.0.1:9/0",
        engine=engine,
    )
    schema: dict[str, Any] = create_app(services).openapi()
    db.dispose()
    return schema


@pytest.fixture
def schema(tmp_path: Path) -> dict[str, Any]:
    # Building the document calls nothing: a stand-in engine is enough to mount the routers.
    return _schema(cast(Engine, object()), tmp_path)


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        if path.startswith(RESOURCES):
            for method, operation in item.items():
                yield path, method, operation


def test_every_resource_is_mounted_once(schema: dict[str, Any]) -> None:
    operations = [(method, path) for path, method, _ in _operations(schema)]
    # 15 + 7 + 9 (runs, steps included) + 3 (feedback) + 2 + 1 + 9 (queues) + 8 (flows)
    assert len(operations) == len(set(operations)) == 54


def test_every_operation_has_a_summary_and_documented_errors(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        assert operation["summary"] and "\n" not in operation["summary"], where
        responses = operation["responses"]
        assert {"401", "422", "429", "503"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        for status, response in responses.items():
            if status[0] in "45":
                assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, (where, status)


def test_every_success_has_a_model_and_every_body_an_example(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        success = next(r for s, r in operation["responses"].items() if s.startswith("2"))
        if method != "delete":
            assert success.get("content"), where
        body = operation.get("requestBody")
        if method in ("post", "put") and path.rsplit("/", 1)[-1] not in BODYLESS_POSTS:
            assert body is not None, where
            for media_type, content in body["content"].items():
                if media_type == "multipart/form-data":
                    continue  # a binary file: nothing to show
                ref = content["schema"].get("$ref")
                documented = components[ref.rsplit("/", 1)[-1]] if ref else content
                assert documented.get("examples") or documented.get("example"), where


def test_imports_take_jsonl_csv_or_a_multipart_file(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/v1/datasets/{dataset}/import"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/x-ndjson", "text/csv", "multipart/form-data"}


def test_no_response_schema_can_carry_a_provider_secret(schema: dict[str, Any]) -> None:
    text = json.dumps(schema["components"]["schemas"])
    assert "api_base" not in text and "api_key_env" not in text


def test_without_an_engine_the_resources_are_not_served(tmp_path: Path) -> None:
    paths = _schema(None, tmp_path)["paths"]
    assert not [path for path in paths if path.startswith(RESOURCES)]
    assert "/v1/provider-keys" in paths


def test_the_docs_page_lists_the_resources(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'docs.db'}")
    services = ApiServices(
        settings=Settings(data_dir=tmp_path),
        db=db,
        redis_url="redis://127.0.0.1:9/0",
        engine=cast(Engine, object()),
    )
    with TestClient(create_app(services)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    tags = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    db.dispose()
    assert {"prompts", "datasets", "runs", "models"} <= tags
