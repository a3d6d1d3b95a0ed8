"""`/metrics` of the real app (`create_app`, as Serve hosts it) in-process, on a real engine
(embedded Redis, a database file, the inline executor) calling the session simulator: the
scraped values match what two runs of one evaluation are known to have done."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from engine.cli.demo_data import SCORERS, V1, demo_cases
from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

METRICS_TOKEN = "metrics-" + "t" * 40
SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="q" * 40,  # type: ignore[arg-type]
    metrics_token=METRICS_TOKEN,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
MODEL = "openai/sim-small"
CASES = 6
USER = "metrics-alice"


@dataclass
class Api:
    client: TestClient
    engine: Any

    def scrape(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        """Every sample of `/metrics`, by sample name and then by sorted labels."""
        response = self.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=")
        samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = tuple(sorted(sample.labels.items()))
                samples.setdefault(sample.name, {})[labels] = sample.value
        return samples


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@pytest.fixture(scope="module")
def api(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("api-metrics")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
    with TestClient(create_app(services), client=("10.1.2.3", 40000)) as client:
        yield Api(client, engine)
    services.close()
    engine.close()


@pytest.fixture(scope="module")
def two_runs(api: Api) -> tuple[Any, Any]:
    """One evaluation run twice with the cache on: the second is answered from the cache."""
    alice = api.engine.as_owner(USER)
    alice.prompts.create("metrics-qa", V1["template"], message=V1["message"])
    alice.datasets.create("metrics-cases")
    alice.datasets.add("metrics-cases", demo_cases(CASES))
    runs = []
    for _ in range(2):
        run = alice.evaluate(
            prompt="metrics-qa", dataset="metrics-cases", models=[MODEL], scorers=SCORERS
        )
        assert run.wait(progress=False, timeout=120).status == "completed"
        runs.append(run)
    return runs[0], runs[1]


def test_scrape_matches_the_runs_known_counts(api: Api, two_runs: tuple[Any, Any]) -> None:
    first, second = two_runs
    metrics = api.scrape()

    for run in (first, second):
        labels = _labels(run_id=run.id, status="completed")
        assert metrics["autoforge_run_cells_recorded"][labels] == CASES
        assert metrics["autoforge_run_cells_planned"][labels] == CASES
    assert (
        metrics["autoforge_run_cache_hit_ratio"][_labels(run_id=second.id, status="completed")]
        == 1.0
    )
    assert (
        metrics["autoforge_run_cache_hit_ratio"][_labels(run_id=first.id, status="completed")]
        == 0.0
    )
    assert metrics["autoforge_cells_recorded_total"] == {(): 2 * CASES}
    assert metrics["autoforge_cache_hits_total"] == {(): CASES}
    assert metrics["autoforge_cache_hit_ratio"][()] == 0.5
    assert metrics["autoforge_recent_runs_cache_hit_ratio"][()] == 0.5
    assert metrics["autoforge_runs"] == {_labels(status="completed"): 2}

    records = [r for run in (first, second) for r in run.records()]
    expected = {
        "passed": sum(r.error is None and r.passed is True for r in records),
        "failed": sum(r.error is None and r.passed is False for r in records),
        "errored": sum(r.error is not None for r in records),
        "ungraded": sum(r.error is None and r.passed is None for r in records),
    }
    outcomes = metrics["autoforge_cell_outcomes_total"]
    scraped = {dict(k)["outcome"]: v for k, v in outcomes.items()}
    assert scraped == expected
    assert sum(scraped.values()) == 2 * CASES
    by_status = metrics["autoforge_cells_by_run_status"]
    assert {dict(k)["outcome"]: v for k, v in by_status.items()} == expected
    assert {dict(k)["run_status"] for k in by_status} == {"completed"}

    spent = sum(r.spent_usd for r in records)
    assert metrics["autoforge_spent_usd_total"][()] == pytest.approx(spent)
    by_run_status = metrics["autoforge_spent_by_run_status_usd"]
    assert by_run_status == {_labels(run_status="completed"): pytest.approx(spent)}
    # Only the first run reached the provider: the gateway's ledger and the latency sample.
    latency = metrics["autoforge_provider_latency_seconds_count"][_labels(model=MODEL)]
    assert latency == CASES - expected["errored"]
    # Usage reaches the ledger when its lease is released, which may trail the recorded cell.
    deadline = time.monotonic() + 10
    while sum(metrics["autoforge_account_calls_total"].values()) < CASES:
        assert time.monotonic() < deadline, metrics["autoforge_account_calls_total"]
        time.sleep(0.1)
        metrics = api.scrape()
    assert metrics["autoforge_account_calls_total"] == {_labels(account="simulator"): CASES}
    requests = metrics["autoforge_account_requests_total"][_labels(account="simulator")]
    retries = metrics["autoforge_account_retries_total"][_labels(account="simulator")]
    assert requests == CASES + retries
    assert metrics["autoforge_metrics_source_up"] == {
        _labels(source="database"): 1.0,
        _labels(source="redis"): 1.0,
    }


def test_request_histogram_counts_a_request_it_made(api: Api, two_runs: tuple[Any, Any]) -> None:
    first, _ = two_runs
    route = _labels(method="GET", route="/v1/runs/{run_id}", status_class="2xx")
    before = api.scrape().get("autoforge_api_request_duration_seconds_count", {}).get(route, 0.0)
    token = create_token(SETTINGS, USER)
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        assert api.client.get(f"/v1/runs/{first.id}", headers=headers).status_code == 200
    after = api.scrape()
    assert after["autoforge_api_request_duration_seconds_count"][route] == before + 3
    assert after["autoforge_api_requests_total"][route] == before + 3
    assert not any(first.id in dict(k)["route"] for k in after["autoforge_api_requests_total"])
    # The scrape that is being served is the one request in flight.
    assert after["autoforge_api_requests_in_flight"][()] == 1.0


def test_metrics_refuse_a_user_token_and_no_token(api: Api) -> None:
    user = {"Authorization": f"Bearer {create_token(SETTINGS, USER)}"}
    for headers in ({}, user, {"Authorization": "Bearer " + "x" * 48}):
        response = api.client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert "AUTOFORGE_METRICS_TOKEN" in response.json()["detail"]


def test_the_sdk_serves_the_engine_metrics(api: Api, two_runs: tuple[Any, Any]) -> None:
    first, second = two_runs
    families = {f.name: f for f in text_string_to_metric_families(api.engine.metrics_text())}
    recorded = {
        tuple(s.labels.values()): s.value for s in families["autoforge_run_cells_recorded"].samples
    }
    assert recorded[(first.id, "completed")] == recorded[(second.id, "completed")] == CASES
    assert "autoforge_api_requests" not in families  # the API's own stay in the API


def test_a_stopped_runs_results_are_read_once(api: Api, two_runs: tuple[Any, Any]) -> None:
    from sqlalchemy import event

    db = api.engine.runtime.db
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    api.engine.metrics_text()  # reads whatever changed since the last scrape
    event.listen(db, "before_cursor_execute", note)
    try:
        text = api.engine.metrics_text()
    finally:
        event.remove(db, "before_cursor_execute", note)
    assert f'run_id="{two_runs[0].id}"' in text
    assert statements and not any("FROM results" in s for s in statements)


@pytest.mark.parametrize(("setting", "status"), [("off", 404), ("public", 200)])
def test_the_operator_setting_removes_or_opens_the_route(
    api: Api, two_runs: tuple[Any, Any], setting: str, status: int
) -> None:
    settings = SETTINGS.model_copy(update={"metrics": setting})
    services = ApiServices.from_runtime(api.engine.runtime, api=settings)
    with TestClient(create_app(services), client=("10.9.9.9", 40000)) as client:
        response = client.get("/metrics")
    services.close()
    assert response.status_code == status
    if status == 200:  # without an engine: no ledger accounts, the runs all the same
        assert f'autoforge_run_cells_recorded{{run_id="{two_runs[1].id}"' in response.text
        assert "autoforge_account_calls_total{" not in response.text


def test_the_grafana_dashboard_asks_only_for_metrics_we_serve(api: Api) -> None:
    import json
    import re

    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    served = set()
    for family in text_string_to_metric_families(response.text):
        served |= {family.name + suffix for suffix in ("", "_total", "_bucket", "_sum", "_count")}
    docs = Path(__file__).resolve().parents[2] / "docs"
    dashboard = json.loads((docs / "grafana-autoforge.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    asked = {name for expr in exprs for name in re.findall(r"autoforge_[a-z_]+", expr)}
    assert len(asked) >= 15
    assert asked <= served, asked - served


def test_health_stays_open(api: Api) -> None:
    assert api.client.get("/health").status_code == 200


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An app whose provider takes 200 ms a call, so a run is seen while it works."""
    from engine.sdk import Engine
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(seed=3, latency_ms=200)) as slow:
        engine = Engine(data_dir=tmp_path_factory.mktemp("api-metrics-slow"), executor="inline")
        engine.use_catalogue(simulator_catalogue(slow.api_base, max_concurrency=4))
        services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
        with TestClient(create_app(services), client=("10.1.2.3", 40000)) as client:
            yield Api(client, engine)
        services.close()
        engine.close()


def test_a_working_run_shows_its_queue_depth_and_streams(slow_api: Api) -> None:
    alice = slow_api.engine.as_owner(USER)
    alice.prompts.create("slow-qa", V1["template"], message=V1["message"])
    alice.datasets.create("slow-cases")
    alice.datasets.add("slow-cases", demo_cases(40))
    run = alice.evaluate(
        prompt="slow-qa", dataset="slow-cases", models=[MODEL], scorers=SCORERS, concurrency=2
    )
    deadline = time.monotonic() + 30
    while run.recorded() < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    metrics = slow_api.scrape()
    run.cancel()
    labels = _labels(run_id=run.id, status="running")
    recorded = metrics["autoforge_run_cells_recorded"][labels]
    remaining = metrics["autoforge_run_cells_remaining"][_labels(run_id=run.id)]
    assert recorded >= 2 and remaining > 0
    assert recorded + remaining == metrics["autoforge_run_cells_planned"][labels] == 40
    assert 0 <= metrics["autoforge_run_recorder_lag_entries"][_labels(run_id=run.id)] <= remaining
    assert metrics["autoforge_run_dead_letters"][_labels(run_id=run.id)] == 0
    assert metrics["autoforge_run_events_stream_entries"][_labels(run_id=run.id)] > 0
    assert metrics["autoforge_runs"] == {_labels(status="running"): 1}

    assert run.wait(progress=False, timeout=60).status == "cancelled"
    after = slow_api.scrape()
    assert _labels(run_id=run.id) not in after.get("autoforge_run_cells_remaining", {})
    assert after["autoforge_runs"] == {_labels(status="cancelled"): 1}
    stopped = after["autoforge_run_cells_recorded"][_labels(run_id=run.id, status="cancelled")]
    assert after["autoforge_cells_recorded_total"] == {(): stopped}
    # The counter only grew while the run went from running to cancelled.
    assert stopped >= recorded
