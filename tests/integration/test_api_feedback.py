"""Over the real app in-process (`create_app` on an inline engine): feedback on a run's cells
changes the report's pass rate exactly as the overrides say, and only the run's owner may
give or read it. The run's cells are recorded straight into the engine's database."""

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
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.evaluation.runs import RunStore
from engine.keys import Keyring, new_master_key

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="f" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
JUDGE = {"type": "llm-judge", "name": "judge", "args": {"model": "m", "rubric": "r"}}
# case: (scorers' verdict, judge score)
CELLS = {"c0": (True, 0.9), "c1": (True, 0.8), "c2": (False, 0.2), "c3": (False, 0.1)}


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-feedback")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("f"))
    )
    owner = f"alice-{uuid.uuid4().hex[:6]}"
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        made = client.post(
            "/v1/prompts", json={"name": "qa", "template": "{{q}}"}, headers=_headers(owner)
        )
        assert made.status_code == 201, made.text
        prompt = made.json()
        runs = RunStore(engine.runtime.db)
        spec = RunSpec(prompt["id"], (prompt["head"],), ("m",), "dv", tuple(CELLS), (JUDGE,))
        run = runs.create(owner, spec)
        runs.record(
            [
                ResultRow(
                    run_id=run.id,
                    prompt_version=prompt["head"],
                    model="m",
                    case_id=case,
                    passed=passed,
                    score=judged,
                    scores={"judge": judged},
                )
                for case, (passed, judged) in CELLS.items()
            ]
        )
        yield client, owner, run.id
    services.close()
    engine.close()


def _pass_rate(client: TestClient, owner: str, run_id: str) -> float:
    report = client.get(f"/v1/runs/{run_id}/report", headers=_headers(owner))
    assert report.status_code == 200, report.text
    (group,) = report.json()["groups"]
    return float(group["pass_rate"])


def test_an_override_changes_the_pass_rate_and_the_judge_alignment(
    app: tuple[TestClient, str, str],
) -> None:
    client, owner, run_id = app
    assert _pass_rate(client, owner, run_id) == 0.5
    given = [("c1", "fail"), ("c2", "pass"), ("c0", "pass")]
    for case, verdict in given:
        added = client.post(
            f"/v1/runs/{run_id}/feedback",
            json={"case_id": case, "verdict": verdict},
            headers=_headers(owner),
        )
        assert added.status_code == 201, added.text
        assert added.json()["author"] == owner
    comment = {"case_id": "c3", "comment": "fine as it is"}
    posted = client.post(f"/v1/runs/{run_id}/feedback", json=comment, headers=_headers(owner))
    assert posted.status_code == 201
    # Recomputed by hand: c0 pass (human), c1 fail (human), c2 pass (human), c3 fail (scorers).
    expected = {"c0": True, "c1": False, "c2": True, "c3": False}
    assert _pass_rate(client, owner, run_id) == sum(expected.values()) / len(expected)
    document = client.get(f"/v1/runs/{run_id}/report", headers=_headers(owner)).json()
    feedback = document["feedback"]
    assert feedback["summary"]["n_overridden"] == 3
    assert feedback["summary"]["automatic_pass_rate"] == 0.5
    (judge,) = feedback["judges"]
    # judge (>= 0.5): c0 P, c1 P, c2 F vs human P, F, P: one agreement of three.
    assert (judge["scorer"], judge["n"], judge["confusion"]) == ("judge", 3, [[1, 1], [1, 0]])
    assert judge["flagged"] is True
    markdown = client.get(
        f"/v1/runs/{run_id}/report", params={"format": "markdown"}, headers=_headers(owner)
    ).text
    assert "3 cells overridden" in markdown and "Judge alignment: judge" in markdown
    cells = client.get(f"/v1/runs/{run_id}/cells", headers=_headers(owner)).json()["items"]
    assert {c["case_id"]: c["effective_passed"] for c in cells} == expected
    assert {c["case_id"]: c["passed"] for c in cells} == {k: v for k, (v, _) in CELLS.items()}
    first = client.get(
        f"/v1/runs/{run_id}/feedback", params={"limit": 3}, headers=_headers(owner)
    ).json()
    assert [f["case_id"] for f in first["items"]] == ["c1", "c2", "c0"]
    rest = client.get(
        f"/v1/runs/{run_id}/feedback",
        params={"limit": 3, "cursor": first["next_cursor"]},
        headers=_headers(owner),
    ).json()
    assert [f["comment"] for f in rest["items"]] == ["fine as it is"]
    assert rest["next_cursor"] is None


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "Traceback" not in response.text
    return dict(response.json())


def test_bad_feedback_is_a_problem_and_another_users_run_is_not_found(
    app: tuple[TestClient, str, str],
) -> None:
    client, owner, run_id = app
    url = f"/v1/runs/{run_id}/feedback"
    _problem(client.post(url, json={"case_id": "c0", "score": 1.5}, headers=_headers(owner)), 422)
    empty = _problem(client.post(url, json={"case_id": "c0"}, headers=_headers(owner)), 422)
    assert empty["reason"] == "empty-feedback"
    _problem(
        client.post(url, json={"case_id": "nope", "verdict": "pass"}, headers=_headers(owner)), 404
    )
    bob = _headers("bob-" + uuid.uuid4().hex[:6])
    _problem(client.post(url, json={"case_id": "c0", "verdict": "fail"}, headers=bob), 404)
    _problem(client.get(url, headers=bob), 404)
    _problem(client.get(f"/v1/runs/{run_id}/report", headers=bob), 404)
