"""`EngineCollector`: the engine's Prometheus metrics, read from the database and Redis when
scraped, so they survive actor restarts and need no metrics agent in the actors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine as DbEngine

from engine.logs import get_logger
from engine.metrics.live import account_usage, run_streams
from engine.metrics.recorded import ModelTotals, RecordedTotals, RunTotals

log = get_logger(__name__)
RECENT_RUNS = 10
"""Newest runs shown one by one (with every working run) and in the recent hit ratio."""
MAX_LIVE_RUNS = 100
"""Working runs whose streams are read per scrape (three XLENs each, one round trip)."""
OUTCOMES = ("passed", "failed", "errored", "ungraded")
_RUN = ["run_id", "status"]


class EngineCollector(Collector):
    """Cells, outcomes, cache hits, spend, provider usage, queue depth and recorder lag.

    Args:
        db: the metadata database (runs and results).
        redis: a sync Redis client with ``decode_responses=True``.
        accounts: the provider accounts whose ledgers to read, asked at each scrape.
    """

    def __init__(
        self, db: DbEngine, redis: Any, accounts: Callable[[], Sequence[str]] = tuple
    ) -> None:
        self._recorded = RecordedTotals(db)
        self._redis = redis
        self._accounts = accounts

    def describe(self) -> list[Metric]:
        return []  # unknown until scraped: a registry must not query at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "autoforge_metrics_source_up",
            "1 if the source answered this scrape.",
            labels=["source"],
        )
        shown: list[RunTotals] = []
        try:
            all_runs = self._recorded.read()
        except Exception as exc:
            log.warning("metrics: database unreadable", error=type(exc).__name__)
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield from _recorded_metrics(all_runs)
            shown = _shown(all_runs)
            yield from _run_metrics(shown)
        try:
            yield from self._live_metrics(shown)
        except Exception as exc:
            log.warning("metrics: redis unreadable", error=type(exc).__name__)
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
        yield up

    def _live_metrics(self, shown: list[RunTotals]) -> Iterator[Metric]:
        live = [run for run in shown if run.active][:MAX_LIVE_RUNS]
        metrics = {
            "unrecorded": GaugeMetricFamily(
                "autoforge_run_recorder_lag_entries",
                "Results a working run's evaluators streamed that are not yet in the database.",
                labels=["run_id"],
            ),
            "events": GaugeMetricFamily(
                "autoforge_run_events_stream_entries",
                "Entries in a working run's event stream (capped at 10,000).",
                labels=["run_id"],
            ),
            "dead_letters": GaugeMetricFamily(
                "autoforge_run_dead_letters",
                "Results of a working run the recorder could not store.",
                labels=["run_id"],
            ),
        }
        for run in run_streams(self._redis, [run.run_id for run in live]):
            for name, family in metrics.items():
                family.add_metric([run.run_id], getattr(run, name))
        yield from metrics.values()
        yield from _ledger_metrics(account_usage(self._redis, list(self._accounts())))


def _shown(all_runs: list[RunTotals]) -> list[RunTotals]:
    """Every working run and the newest finished ones (``all_runs`` is newest first)."""
    recent = {run.run_id for run in all_runs[:RECENT_RUNS]}
    return [run for run in all_runs if run.active or run.run_id in recent]


def hit_ratio(totals: ModelTotals) -> float:
    """Cache hits per recorded cell; 0 before any cell."""
    return totals.cached / totals.cells if totals.cells else 0.0


def _recorded_metrics(all_runs: list[RunTotals]) -> Iterator[Metric]:
    by_status: defaultdict[str, ModelTotals] = defaultdict(ModelTotals)
    by_model: defaultdict[str, ModelTotals] = defaultdict(ModelTotals)
    counts: defaultdict[str, int] = defaultdict(int)
    overall, recent = ModelTotals(), ModelTotals()
    for index, run in enumerate(all_runs):
        counts[run.status] += 1
        for model, totals in run.models.items():
            by_status[run.status].add(totals)
            by_model[model].add(totals)
            overall.add(totals)
            if index < RECENT_RUNS:
                recent.add(totals)
    runs = GaugeMetricFamily("autoforge_runs", "Runs in the database.", labels=["status"])
    for status, count in sorted(counts.items()):
        runs.add_metric([status], count)
    yield runs
    yield from _totals_metrics(overall)
    yield from _status_metrics(by_status)
    ratio = "Cache hits per recorded cell (the results' `cached` column)"
    yield GaugeMetricFamily("autoforge_cache_hit_ratio", f"{ratio}, every run.", hit_ratio(overall))
    yield GaugeMetricFamily(
        "autoforge_recent_runs_cache_hit_ratio",
        f"{ratio}, the {RECENT_RUNS} newest runs.",
        hit_ratio(recent),
    )
    yield from _model_metrics(by_model)


def _totals_metrics(overall: ModelTotals) -> Iterator[Metric]:
    # No run-status label on counters: a run that completes would move its cells from one
    # series to another, which `rate()` reads as a reset and a burst.
    cells = CounterMetricFamily("autoforge_cells_recorded", "Cells in the database.")
    cells.add_metric([], overall.cells)
    outcomes = CounterMetricFamily(
        "autoforge_cell_outcomes",
        "Recorded cells by outcome (errored: the call or scoring failed; ungraded: no verdict).",
        labels=["outcome"],
    )
    for outcome in OUTCOMES:
        outcomes.add_metric([outcome], getattr(overall, outcome))
    hits = CounterMetricFamily("autoforge_cache_hits", "Cells answered from the response cache.")
    hits.add_metric([], overall.cached)
    spent = CounterMetricFamily(
        "autoforge_spent_usd", "USD the recorded cells cost, scoring included."
    )
    spent.add_metric([], overall.cost_usd + overall.scoring_cost_usd)
    yield from (cells, outcomes, hits, spent)


def _status_metrics(by_status: dict[str, ModelTotals]) -> Iterator[Metric]:
    cells = GaugeMetricFamily(
        "autoforge_cells_by_run_status",
        "Recorded cells by their run's status and their outcome.",
        labels=["run_status", "outcome"],
    )
    spent = GaugeMetricFamily(
        "autoforge_spent_by_run_status_usd",
        "USD the recorded cells cost, by their run's status.",
        labels=["run_status"],
    )
    for status, totals in sorted(by_status.items()):
        spent.add_metric([status], totals.cost_usd + totals.scoring_cost_usd)
        for outcome in OUTCOMES:
            cells.add_metric([status, outcome], getattr(totals, outcome))
    yield from (cells, spent)


def _model_metrics(by_model: dict[str, ModelTotals]) -> Iterator[Metric]:
    latency = SummaryMetricFamily(
        "autoforge_provider_latency_seconds",
        "Provider latency of recorded cells a provider answered (not cached, not failed).",
        labels=["model"],
    )
    attempts = CounterMetricFamily(
        "autoforge_provider_attempts", "Provider requests of recorded cells.", labels=["model"]
    )
    retries = CounterMetricFamily(
        "autoforge_provider_retries",
        "Provider requests of recorded cells after the first (429s, 5xx, timeouts).",
        labels=["model"],
    )
    for model, totals in sorted(by_model.items()):
        latency.add_metric([model], totals.answered, totals.latency_seconds)
        attempts.add_metric([model], totals.attempts)
        retries.add_metric([model], totals.retries)
    yield from (latency, attempts, retries)


def _run_metrics(shown: list[RunTotals]) -> Iterator[Metric]:
    recorded = GaugeMetricFamily(
        "autoforge_run_cells_recorded", "Cells of the run in the database.", labels=_RUN
    )
    planned = GaugeMetricFamily(
        "autoforge_run_cells_planned", "Cells the run asks for.", labels=_RUN
    )
    remaining = GaugeMetricFamily(
        "autoforge_run_cells_remaining",
        "Cells of a working run not yet recorded: its queue depth.",
        labels=["run_id"],
    )
    ratio = GaugeMetricFamily(
        "autoforge_run_cache_hit_ratio", "Cache hits per recorded cell of the run.", labels=_RUN
    )
    spent = GaugeMetricFamily(
        "autoforge_run_spent_usd", "USD the run's recorded cells cost.", labels=_RUN
    )
    for run in shown:
        labels = [run.run_id, run.status]
        totals = run.overall()
        recorded.add_metric(labels, totals.cells)
        planned.add_metric(labels, run.total_cells)
        ratio.add_metric(labels, hit_ratio(totals))
        spent.add_metric(labels, totals.cost_usd + totals.scoring_cost_usd)
        if run.active:
            remaining.add_metric([run.run_id], max(run.total_cells - totals.cells, 0))
    yield from (recorded, planned, remaining, ratio, spent)


def _ledger_metrics(usage: dict[str, dict[str, float]]) -> Iterator[Metric]:
    help_of = {
        "calls": "Calls the account's gateway was told of (one per call and model).",
        "requests": "Provider requests, retries included.",
        "errors": "Provider requests that failed.",
        "rate_limited": "429 answers from the provider.",
    }
    families = {
        name: CounterMetricFamily(f"autoforge_account_{name}", text, labels=["account"])
        for name, text in help_of.items()
    }
    retries = CounterMetricFamily(
        "autoforge_account_retries", "Provider requests after a call's first.", labels=["account"]
    )
    cost = CounterMetricFamily(
        "autoforge_account_cost_usd", "USD the account's calls cost.", labels=["account"]
    )
    tokens = CounterMetricFamily(
        "autoforge_account_tokens", "Tokens used.", labels=["account", "kind"]
    )
    for account, totals in sorted(usage.items()):
        for name, family in families.items():
            family.add_metric([account], totals[name])
        retries.add_metric([account], max(totals["requests"] - totals["calls"], 0))
        cost.add_metric([account], totals["cost_usd"])
        tokens.add_metric([account, "prompt"], totals["prompt_tokens"])
        tokens.add_metric([account, "completion"], totals["completion_tokens"])
    yield from (*families.values(), retries, cost, tokens)
