"""Request metrics: labels by route template through the real edge middleware, and who may
scrape `/metrics`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.middleware import Middleware

from api.config import ApiSettings
from api.metrics import UNMATCHED, RequestMetrics, status_class
from api.middleware import EdgeMiddleware
from api.routes_metrics import scrape_allowed

TOKEN = "m" * 40


def _app(metrics: RequestMetrics) -> FastAPI:
    app = FastAPI(middleware=[Middleware(EdgeMiddleware, metrics=metrics)])
    prompts = APIRouter(prefix="/v1/prompts")

    @prompts.get("/{name}")
    def get_prompt(name: str) -> dict[str, str]:
        if name == "missing":
            raise HTTPException(404)
        return {"name": name}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    app.include_router(prompts)
    return app


def _samples(metrics: RequestMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    from prometheus_client import generate_latest

    text = generate_latest(metrics.registry).decode()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def _key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@pytest.fixture
def measured() -> tuple[TestClient, RequestMetrics]:
    metrics = RequestMetrics()
    return TestClient(_app(metrics), raise_server_exceptions=False), metrics


def test_requests_are_labelled_by_route_template_not_raw_path(measured: Any) -> None:
    client, metrics = measured
    for name in ("alpha", "beta", "missing"):
        client.get(f"/v1/prompts/{name}")
    counts = _samples(metrics, "autoforge_api_requests_total")
    route = "/v1/prompts/{name}"
    assert counts == {
        _key(method="GET", route=route, status_class="2xx"): 2.0,
        _key(method="GET", route=route, status_class="4xx"): 1.0,
    }
    histogram = _samples(metrics, "autoforge_api_request_duration_seconds_count")
    assert histogram[_key(method="GET", route=route, status_class="2xx")] == 2.0


def test_unmatched_paths_share_one_label(measured: Any) -> None:
    client, metrics = measured
    client.get("/wp-admin/setup.php")
    client.get("/.env")
    counts = _samples(metrics, "autoforge_api_requests_total")
    assert counts == {_key(method="GET", route=UNMATCHED, status_class="4xx"): 2.0}


def test_an_unhandled_error_counts_as_5xx_and_leaves_nothing_in_flight(measured: Any) -> None:
    client, metrics = measured
    assert client.get("/boom").status_code == 500
    counts = _samples(metrics, "autoforge_api_requests_total")
    assert counts == {_key(method="GET", route="/boom", status_class="5xx"): 1.0}
    assert _samples(metrics, "autoforge_api_requests_in_flight") == {(): 0.0}


def test_a_wrong_method_keeps_the_template() -> None:
    metrics = RequestMetrics()
    client = TestClient(_app(metrics))
    assert client.delete("/v1/prompts/alpha").status_code == 405
    counts = _samples(metrics, "autoforge_api_requests_total")
    assert counts == {_key(method="DELETE", route="/v1/prompts/{name}", status_class="4xx"): 1.0}


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (304, "3xx"), (429, "4xx"), (503, "5xx")]
)
def test_status_class(status: int, label: str) -> None:
    assert status_class(status) == label


def _api(**values: Any) -> ApiSettings:
    return ApiSettings(**{"auth_mode": "hs256", "auth_hs256_secret": "s" * 40, **values})


@pytest.mark.parametrize(
    ("settings", "authorization", "host", "allowed"),
    [
        (_api(metrics="public"), None, "10.0.0.9", True),
        (_api(metrics_token=TOKEN), f"Bearer {TOKEN}", "10.0.0.9", True),
        (_api(metrics_token=TOKEN), f"bearer {TOKEN}", "10.0.0.9", True),
        (_api(metrics_token=TOKEN), f"Bearer {TOKEN[:-1]}x", "10.0.0.9", False),
        (_api(metrics_token=TOKEN), None, "127.0.0.1", False),
        (_api(), f"Bearer {TOKEN}", "10.0.0.9", False),  # no operator token configured
        (ApiSettings(auth_mode="none"), None, "127.0.0.1", True),
        (ApiSettings(auth_mode="none"), None, "10.0.0.9", False),
    ],
)
def test_who_may_scrape(
    settings: ApiSettings, authorization: str | None, host: str, allowed: bool
) -> None:
    assert scrape_allowed(settings, authorization, host) is allowed


def test_a_short_metrics_token_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="METRICS_TOKEN must be at least 32"):
        _api(metrics_token="short")


def test_the_metrics_token_is_redacted() -> None:
    shown = _api(metrics_token=TOKEN).redacted()
    assert shown["metrics_token"] == "***"
    assert TOKEN not in str(shown)
