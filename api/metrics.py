"""The API's own metrics: request latency, count and in-flight, by route template.

Labels name the route's template (`/v1/prompts/{prompt}`), never the raw path, and a path no
route matched is `<unmatched>`: otherwise every scanned URL would become a time series.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import Scope

UNMATCHED = "<unmatched>"
LABELS = ("method", "route", "status_class")
# Prometheus' defaults stop at 10 s and start at 5 ms; our GETs sit around 2-50 ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (set by routing), else `<unmatched>`."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


def status_class(status: int) -> str:
    """``404`` → ``4xx``."""
    return f"{status // 100}xx"


class RequestMetrics:
    """Histogram, counter and in-flight gauge of HTTP requests, in a registry of their own
    (one per app, so several apps in one process never clash)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.duration = Histogram(
            "autoforge_api_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            LABELS,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "autoforge_api_requests",
            "HTTP requests answered, by route template.",
            LABELS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "autoforge_api_requests_in_flight",
            "HTTP requests being served now.",
            registry=self.registry,
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one finished request."""
        labels = (scope.get("method", ""), route_template(scope), status_class(status))
        self.duration.labels(*labels).observe(seconds)
        self.requests.labels(*labels).inc()
