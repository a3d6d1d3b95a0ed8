"""The actors' live metrics, scraped from Ray's metrics agent over HTTP: a real engine on the
session's Ray runs one evaluation twice against the simulator, and what the evaluators,
gateway, recorder and scheduler exported moved by exactly what the runs are known to have
done (the second run: every cell from the cache)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.cli.demo_data import SCORERS, V1, demo_cases
from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "openai/sim-small"
CASES = 6
Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(targets: list[str]) -> Samples:
    """Every sample of every node's metrics agent, by sample name."""
    samples: Samples = {}
    for target in targets:
        with urllib.request.urlopen(f"http://{target}/metrics", timeout=5) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def matching(samples: Samples, name: str, **labels: str) -> list[float]:
    """The values of ``name``'s samples, one per process, that carry ``labels``."""
    return [
        value
        for got, value in samples.get(name, [])
        if all(got.get(key) == wanted for key, wanted in labels.items())
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over processes of ``name``'s samples that carry ``labels``."""
    return sum(matching(samples, name, **labels))


def present(samples: Samples, name: str, **labels: str) -> bool:
    """Whether any process reports a ``name`` sample with ``labels``."""
    return bool(matching(samples, name, **labels))


def settle(targets: list[str], done: Callable[[Samples], bool], timeout_s: float = 45) -> Samples:
    """Scrape until ``done`` holds (the agent reports each process' metrics periodically)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(targets)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any], simulator: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("actor-metrics")
    engine = Engine(data_dir=data, executor="ray", evaluators=2)
    engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
    yield engine
    engine.close()


def _evaluate(engine: Any) -> Any:
    run = engine.evaluate(
        prompt="actor-metrics-qa", dataset="actor-metrics-cases", models=[MODEL], scorers=SCORERS
    )
    assert run.wait(progress=False, timeout=180).status == "completed"
    return run


def test_actor_metrics_match_two_runs(engine: Any) -> None:
    targets = engine.metrics_targets()
    assert targets, "no Ray node serves metrics"
    engine.prompts.create("actor-metrics-qa", V1["template"], message=V1["message"])
    engine.datasets.create("actor-metrics-cases")
    engine.datasets.add("actor-metrics-cases", demo_cases(CASES))
    account = engine.catalogue.account_for(MODEL).name
    cells = "ray_autoforge_evaluator_cells_total"
    hits = "ray_autoforge_evaluator_cache_hits_total"
    recorded = "ray_autoforge_recorder_rows_total"
    done = "ray_autoforge_scheduler_cells_done_total"
    calls = "ray_autoforge_gateway_calls_total"

    def moved(start: Samples, end: Samples, name: str, **labels: str) -> float:
        return total(end, name, **labels) - total(start, name, **labels)

    def reached(start: Samples, wanted: dict[str, float]) -> Callable[[Samples], bool]:
        return lambda now: all(
            moved(
                start,
                now,
                n,
            )
            >= v
            for n, v in wanted.items()
        )

    def reported(run: Any) -> Callable[[Samples], bool]:
        """The run's gauges reached the agent: Ray evicts a gauge's series about two report
        intervals after it was last set, so a finished run's are read from the scrape
        right after it, not later."""
        return lambda now: present(now, "ray_autoforge_scheduler_run_spent_usd", run_id=run.id)

    def both(*checks: Callable[[Samples], bool]) -> Callable[[Samples], bool]:
        return lambda now: all(check(now) for check in checks)

    before = scrape(targets)
    first = _evaluate(engine)
    counted = {recorded: CASES, cells: CASES, done: CASES, calls: CASES}
    after_first = settle(targets, both(reached(before, counted), reported(first)))
    second = _evaluate(engine)
    again = {recorded: CASES, hits: CASES, done: CASES}
    after = settle(targets, both(reached(after_first, again), reported(second)))

    tags = {"account": account, "model": MODEL}
    assert moved(before, after_first, cells, **tags) == CASES
    assert moved(before, after_first, hits, **tags) == 0
    # The re-run's hit rate, as Prometheus would compute it from the two counters: 100%.
    assert moved(after_first, after, hits, **tags) == CASES
    assert moved(after_first, after, cells, **tags) == CASES

    records = first.records() + second.records()
    for outcome, expected in {
        "passed": sum(r.error is None and r.passed is True for r in records),
        "failed": sum(r.error is None and r.passed is False for r in records),
        "errored": sum(r.error is not None for r in records),
    }.items():
        assert moved(before, after, cells, outcome=outcome) == expected, outcome

    answered = [r for r in first.records() if r.error is None]
    latency = "ray_autoforge_evaluator_provider_latency_seconds"
    count = moved(before, after, f"{latency}_count", **tags)
    assert count == len(answered)
    mean = moved(before, after, f"{latency}_sum", **tags) / count
    assert 0 < mean < 10

    # The gateway: one usage record per call of the first run, none for cache hits.
    calls_made = moved(before, after, calls, account=account)
    requests = moved(before, after, "ray_autoforge_gateway_requests_total", account=account)
    retries = moved(before, after, "ray_autoforge_gateway_retries_total", account=account)
    assert calls_made == CASES
    assert requests == sum(r.attempts for r in first.records())
    assert retries == requests - calls_made

    # Rows inserted, once each: a claim that replays an entry being written counts a replay.
    assert moved(before, after, recorded) == 2 * CASES
    lag = "ray_autoforge_recorder_lag_seconds"
    lags = moved(before, after, f"{lag}_count")
    assert 0 < lags <= 2 * CASES
    assert 0 <= moved(before, after, f"{lag}_sum") / lags < 30
    assert moved(before, after, done) == 2 * CASES

    for run, settled in ((first, after_first), (second, after)):
        run_tags = {"run_id": run.id}
        assert present(settled, "ray_autoforge_scheduler_run_spent_usd", **run_tags)
        assert total(settled, "ray_autoforge_scheduler_run_queued_cells", **run_tags) == 0
        assert total(settled, "ray_autoforge_scheduler_run_inflight_cells", **run_tags) == 0
        spent = total(settled, "ray_autoforge_scheduler_run_spent_usd", **run_tags)
        assert spent == pytest.approx(sum(r.cost_usd or 0.0 for r in run.records()))
    assert total(after_first, "ray_autoforge_scheduler_run_spent_usd", run_id=first.id) > 0
