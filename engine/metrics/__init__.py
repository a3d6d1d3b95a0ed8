"""Prometheus metrics of the engine, collected at scrape time from durable state.

`EngineCollector` goes into a `prometheus_client.CollectorRegistry`; the API's `/metrics`
and `Engine.metrics_text()` both serve one.
"""

from engine.metrics.collector import MAX_LIVE_RUNS, RECENT_RUNS, EngineCollector, hit_ratio

__all__ = ["MAX_LIVE_RUNS", "RECENT_RUNS", "EngineCollector", "hit_ratio"]
