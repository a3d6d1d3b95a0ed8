"""Metrics the actors export live through Ray's metrics agent (`ray.util.metrics`).

Each Ray node's agent serves every process' metrics on its `metrics_export_port`, prefixed
``ray_`` (a counter also gains ``_total``): ``autoforge_evaluator_cells`` is scraped as
``ray_autoforge_evaluator_cells_total``. They are counted where the numbers are produced and
start from zero with each actor; the durable totals stay `EngineCollector`'s (`/metrics`).

Outside Ray (the inline executor, a notebook without a cluster) every method does nothing:
Ray is never imported for them, and the inline executor's metrics are the collector's.
"""

from __future__ import annotations

import sys
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from functools import cache, wraps
from typing import Any, ParamSpec

from engine.logs import get_logger

log = get_logger(__name__)
P = ParamSpec("P")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)
OUTCOMES = ("passed", "failed", "errored", "ungraded")


def in_ray() -> bool:
    """Whether this process is connected to Ray (a worker, a replica, a driver)."""
    ray = sys.modules.get("ray")
    return ray is not None and bool(ray.is_initialized())


def outcome_of(errored: bool, passed: bool | None) -> str:
    """A cell's outcome label, as `EngineCollector` counts them."""
    if errored:
        return "errored"
    return "ungraded" if passed is None else ("passed" if passed else "failed")


class _Metrics:
    """The `ray.util.metrics` objects, built once per process (Ray refuses a second metric
    of one name with other tag keys, and each costs a registration)."""

    def __init__(self) -> None:
        from ray.util.metrics import Counter, Gauge, Histogram

        def counter(name: str, text: str, *tags: str) -> Any:
            return Counter(f"autoforge_{name}", description=text, tag_keys=tags)

        def gauge(name: str, text: str, *tags: str) -> Any:
            return Gauge(f"autoforge_{name}", description=text, tag_keys=tags)

        def histogram(name: str, text: str, buckets: Iterable[float], *tags: str) -> Any:
            return Histogram(
                f"autoforge_{name}", description=text, boundaries=list(buckets), tag_keys=tags
            )

        cell = ("account", "model")
        self.cells = counter(
            "evaluator_cells", "Cells an evaluator finished, by outcome.", *cell, "outcome"
        )
        self.cache_hits = counter(
            "evaluator_cache_hits", "Cells answered from the response cache.", *cell
        )
        self.spent = counter("evaluator_spent_usd", "USD the finished cells cost.", *cell)
        self.latency = histogram(
            "evaluator_provider_latency_seconds",
            "Provider latency of a cell's last attempt (cells a provider answered).",
            LATENCY_BUCKETS,
            *cell,
        )
        self.provider = {
            name: counter(f"gateway_{name}", text, "account")
            for name, text in (
                ("calls", "Calls reported to the account's gateway (one per call and model)."),
                ("requests", "Provider requests, retries included."),
                ("errors", "Provider requests that failed."),
                ("rate_limited", "429 answers from the provider."),
                ("retries", "Provider requests after a call's first."),
            )
        }
        self.waits = counter(
            "gateway_lease_waits",
            "Lease requests answered 'wait', by the limit that was full.",
            "account",
            "reason",
        )
        self.recorded = counter("recorder_rows", "Result rows the recorder inserted.")
        self.replays = counter(
            "recorder_replays",
            "Result entries written again and found recorded (at-least-once delivery).",
        )
        self.recorder_lag = histogram(
            "recorder_lag_seconds",
            "From an evaluator's XADD of a result to its commit in the database.",
            LAG_BUCKETS,
        )
        self.dead_letters = counter(
            "recorder_dead_letters", "Result entries the recorder could not store."
        )
        self.scheduled = counter(
            "scheduler_cells_done", "Cells the scheduler's evaluators reported done."
        )
        run = ("run_id",)
        self.queued = gauge("scheduler_run_queued_cells", "Cells of a run not dispatched.", *run)
        self.inflight = gauge(
            "scheduler_run_inflight_cells", "Cells of a run at the evaluators.", *run
        )
        self.run_spent = gauge("scheduler_run_spent_usd", "USD a run has cost so far.", *run)
        self.run_budget = gauge(
            "scheduler_run_budget_usd", "A run's budget (absent: no budget).", *run
        )
        self.stream_lag = histogram(
            "stream_delivery_lag_seconds",
            "From an event's XADD to its send to the WebSocket subscribers of a replica.",
            LAG_BUCKETS,
        )
        self.subscribers = gauge(
            "stream_subscribers", "WebSocket subscribers of a replica's stream hub."
        )


def _quiet(export: Callable[P, None]) -> Callable[P, None]:
    """A metric must never fail the work it counts: log once per kind of error, go on."""
    failed: set[str] = set()

    @wraps(export)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            export(*args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ not in failed:
                failed.add(type(exc).__name__)
                log.warning("metric not exported", metric=export.__name__, error=repr(exc))

    return guarded


@cache
def _metrics() -> _Metrics:
    return _Metrics()


def _live() -> _Metrics | None:
    return _metrics() if in_ray() else None


@_quiet
def cells_finished(rows: Iterable[Any], account_of: Any) -> None:
    """Count finished cells (`ResultRow`s) of one batch; ``account_of(model)`` names the
    provider account of a model."""
    metrics = _live()
    if metrics is None:
        return
    outcomes: Tally[tuple[str, str, str]] = Tally()
    hits: Tally[tuple[str, str]] = Tally()
    spent: Tally[tuple[str, str]] = Tally()
    for row in rows:
        key = (account_of(row.model), row.model)
        outcomes[(*key, outcome_of(row.errored, row.passed))] += 1
        hits[key] += int(row.cached)
        spent[key] += row.spent_usd
        if not row.cached and not row.errored and row.latency_ms is not None:
            tags = {"account": key[0], "model": key[1]}
            metrics.latency.observe(row.latency_ms / 1000, tags=tags)
    for (account, model, outcome), count in outcomes.items():
        tags = {"account": account, "model": model, "outcome": outcome}
        metrics.cells.inc(count, tags=tags)
    for (account, model), count in hits.items():
        tags = {"account": account, "model": model}
        if count:  # Ray's counters refuse 0
            metrics.cache_hits.inc(count, tags=tags)
        if spent[(account, model)] > 0:
            metrics.spent.inc(spent[(account, model)], tags=tags)


@_quiet
def provider_usage(account: str, records: list[Any]) -> None:
    """Count the `UsageRecord`s a gateway was told of (each once: ``records`` are new)."""
    metrics = _live()
    if metrics is None or not records:
        return
    totals: Tally[str] = Tally()
    for record in records:
        totals["calls"] += 1
        totals["requests"] += record.requests
        totals["errors"] += record.errors
        totals["rate_limited"] += record.rate_limited
        totals["retries"] += max(record.requests - 1, 0)
    tags = {"account": account}
    for name, counter in metrics.provider.items():
        if totals[name]:
            counter.inc(totals[name], tags=tags)


@_quiet
def lease_waited(account: str, reason: str) -> None:
    """A lease request of ``account`` was told to wait because ``reason``'s limit was full."""
    metrics = _live()
    if metrics is not None:
        metrics.waits.inc(1, tags={"account": account, "reason": reason})


@_quiet
def rows_recorded(entry_ids: list[str], now_s: float, inserted: int) -> None:
    """Result entries committed at ``now_s`` (wall clock), ``inserted`` of them new rows (the
    rest were in the database already: a claim replayed them). Each Redis entry id starts
    with the millisecond its evaluator added it, so for new rows the difference is the
    recorder's lag; a replay's would count its first write twice."""
    metrics = _live()
    if metrics is None:
        return
    if inserted:
        metrics.recorded.inc(inserted)
    if inserted < len(entry_ids):
        metrics.replays.inc(len(entry_ids) - inserted)
    if inserted == len(entry_ids):
        for entry_id in entry_ids:
            metrics.recorder_lag.observe(max(now_s - entry_ms(entry_id) / 1000, 0.0))


@_quiet
def dead_lettered() -> None:
    """One result entry went to its run's dead-letter stream."""
    metrics = _live()
    if metrics is not None:
        metrics.dead_letters.inc(1)


@_quiet
def run_progress(
    run_id: str,
    *,
    queued: int,
    inflight: int,
    spent_usd: float,
    budget_usd: float | None,
    done: int = 0,
) -> None:
    """A run's queue depth and spend as its scheduler sees them now; ``done``: cells
    reported since the last call."""
    metrics = _live()
    if metrics is None:
        return
    tags = {"run_id": run_id}
    metrics.queued.set(queued, tags=tags)
    metrics.inflight.set(inflight, tags=tags)
    metrics.run_spent.set(spent_usd, tags=tags)
    if budget_usd is not None:
        metrics.run_budget.set(budget_usd, tags=tags)
    if done:
        metrics.scheduled.inc(done)


@_quiet
def events_sent(entry_ids: Iterable[str], now_s: float) -> None:
    """Events of a run's stream sent to this replica's subscribers at ``now_s``."""
    metrics = _live()
    if metrics is None:
        return
    for entry_id in entry_ids:
        metrics.stream_lag.observe(max(now_s - entry_ms(entry_id) / 1000, 0.0))


@_quiet
def subscribers(count: int) -> None:
    """This replica's stream hub has ``count`` subscribers."""
    metrics = _live()
    if metrics is not None:
        metrics.subscribers.set(count)


def entry_ms(entry_id: str | bytes) -> int:
    """The millisecond timestamp of a Redis stream entry id (``1733580000000-3``)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])
