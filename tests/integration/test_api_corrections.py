"""Over the real app in-process (`create_app` on an inline engine): a correction given as
feedback becomes the expected output of a case in a new dataset version, with its provenance,
and the version before it stays as it was. The run's cells are recorded straight into the
engine's database."""

from __future__ import annotations

import json
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
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.evaluation.runs import RunStore
from engine.keys import Keyring, new_master_key

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="c" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
CASES = [
    {"id": "c0", "vars": {"q": "capital of France?"}, "expected": "Paris", "tags": ["geo"]},
    {"id": "c1", "vars": {"q": "capital of Peru?"}, "expected": "Luma", "tags": ["geo"]},
    {"id": "c2", "vars": {"q": "2+2?"}, "expected": "4"},
]
PASSED = {"c0": True, "c1": False, "c2": False}


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}


def _record_run(runs: RunStore, owner: str, version_id: str) -> str:
    spec = RunSpec("p", ("abc123",), ("m",), version_id, tuple(PASSED))
    run = runs.create(owner, spec)
    runs.record(
        [
            ResultRow(
                run_id=run.id, prompt_version="abc123", model="m", case_id=case, passed=passed
            )
            for case, passed in PASSED.items()
        ]
    )
    return run.id


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, str, str, str, RunStore]]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-corrections")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("c"))
    )
    owner = f"alice-{uuid.uuid4().hex[:6]}"
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        made = client.post("/v1/datasets", json={"name": "qa"}, headers=_headers(owner))
        assert made.status_code == 201, made.text
        version = client.post(
            "/v1/datasets/qa/versions", json={"cases": CASES}, headers=_headers(owner)
        )
        assert version.status_code == 201, version.text
        runs = RunStore(engine.runtime.db)
        run_id = _record_run(runs, owner, version.json()["id"])
        yield client, owner, run_id, made.json()["id"], runs
    services.close()
    engine.close()


def _export(client: TestClient, owner: str, number: int) -> dict[str, dict[str, Any]]:
    got = client.get(f"/v1/datasets/qa/versions/{number}/export", headers=_headers(owner))
    assert got.status_code == 200, got.text
    rows = [json.loads(line) for line in got.text.splitlines()]
    return {row["id"]: row for row in rows}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "Traceback" not in response.text
    return dict(response.json())


def test_a_correction_becomes_the_expected_output_of_a_new_version(
    app: tuple[TestClient, str, str, str, RunStore],
) -> None:
    client, owner, run_id, _, _ = app
    url = f"/v1/runs/{run_id}/corrections"
    nothing = _problem(client.post(url, json={"dataset": "qa"}, headers=_headers(owner)), 422)
    assert nothing["reason"] == "nothing-to-add"
    for correction in ("Lim", "Lima"):
        given = client.post(
            f"/v1/runs/{run_id}/feedback",
            json={"case_id": "c1", "verdict": "fail", "correction": correction},
            headers=_headers(owner),
        )
        assert given.status_code == 201, given.text
    at = given.json()["created_at"]
    passing = client.post(
        url, json={"dataset": "qa", "include_failed": ["c0"]}, headers=_headers(owner)
    )
    assert _problem(passing, 422)["reason"] == "not-failed"
    body = {"dataset": "qa", "include_failed": ["c2"], "note": "review 1"}
    added = client.post(url, json=body, headers=_headers(owner))
    assert added.status_code == 201, added.text
    version = added.json()
    assert (version["number"], version["case_count"], version["note"]) == (2, 3, "review 1")
    assert added.headers["Location"].endswith("/versions/2/export")
    new = _export(client, owner, 2)
    assert list(new) == ["c0", "c1", "c2"]
    assert (new["c1"]["expected"], new["c1"]["tags"], new["c1"]["vars"]) == (
        "Lima",
        ["geo"],
        {"q": "capital of Peru?"},
    )
    assert new["c1"]["metadata"]["provenance"] == {
        "run_id": run_id,
        "prompt_version": "abc123",
        "model": "m",
        "case_id": "c1",
        "repeat": 0,
        "author": owner,
        "feedback_at": at,
    }
    assert new["c2"]["expected"] == "4"
    assert new["c2"]["metadata"]["provenance"]["feedback_at"] is None
    assert "metadata" not in new["c0"]
    old = _export(client, owner, 1)
    assert {case: row.get("expected") for case, row in old.items()} == {
        c["id"]: c["expected"] for c in CASES
    }
    assert all("metadata" not in row for row in old.values())


def test_a_missing_dataset_is_created_with_the_corrections_alone(
    app: tuple[TestClient, str, str, str, RunStore],
) -> None:
    client, owner, run_id, _, _ = app
    client.post(
        f"/v1/runs/{run_id}/feedback",
        json={"case_id": "c0", "correction": "Paris."},
        headers=_headers(owner),
    )
    added = client.post(
        f"/v1/runs/{run_id}/corrections",
        json={"dataset": "qa-fixed"},
        headers=_headers(owner),
    )
    assert added.status_code == 201, added.text
    assert (added.json()["number"], added.json()["case_count"]) == (1, 2)
    listed = client.get("/v1/datasets/qa-fixed", headers=_headers(owner))
    assert listed.json()["latest_version"] == 1


def test_another_users_run_and_dataset_are_not_found(
    app: tuple[TestClient, str, str, str, RunStore],
) -> None:
    client, owner, run_id, dataset_id, runs = app
    bob = "bob-" + uuid.uuid4().hex[:6]
    body = {"dataset": "qa"}
    _problem(client.post(f"/v1/runs/{run_id}/corrections", json=body, headers=_headers(bob)), 404)
    version_id = client.get("/v1/datasets/qa/versions", headers=_headers(owner)).json()["items"]
    bobs_run = _record_run(runs, bob, version_id[0]["id"])
    given = client.post(
        f"/v1/runs/{bobs_run}/feedback",
        json={"case_id": "c2", "correction": "four"},
        headers=_headers(bob),
    )
    assert given.status_code == 201, given.text
    theirs = client.post(
        f"/v1/runs/{bobs_run}/corrections", json={"dataset": dataset_id}, headers=_headers(bob)
    )
    assert _problem(theirs, 404)["reason"] == "unknown-dataset"
    own = client.post(f"/v1/runs/{bobs_run}/corrections", json=body, headers=_headers(bob))
    assert (own.status_code, own.json()["number"]) == (201, 1)
    assert own.json()["dataset_id"] != dataset_id
