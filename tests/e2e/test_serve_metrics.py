"""`/metrics` through Ray Serve, deployed as `autoforge serve` does: the operator token reaches
the replica in memory, and routes are labelled by template under Serve's proxy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.auth import create_token
from api.config import ApiSettings
from tests.e2e.serving import hs256_overrides, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "serve-metrics-" + "s" * 32
METRICS_TOKEN = "operator-" + "o" * 40


@pytest.fixture(scope="module")
def base(
    ray_cluster: dict[str, Any], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("serve-metrics")
    overrides = hs256_overrides(data, redis_url, SECRET, metrics_token=METRICS_TOKEN)
    with serving(overrides) as url:
        yield url


def test_a_request_through_serve_is_counted_by_its_route_template(base: str) -> None:
    settings = ApiSettings(auth_mode="hs256", auth_hs256_secret=SECRET)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {create_token(settings, 'metrics-user')}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        body = {"name": "greeting", "template": "Hello {{name}}"}
        assert http.post("/v1/prompts", json=body).status_code == 201
        assert http.get("/v1/prompts/greeting").status_code == 200
        assert http.get("/metrics").status_code == 401  # a user's token is not the operator's
    scrape = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    )
    assert scrape.status_code == 200, scrape.text
    counted = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(scrape.text)
        for s in family.samples
        if s.name == "autoforge_api_requests_total"
    }
    route = (("method", "GET"), ("route", "/v1/prompts/{prompt}"), ("status_class", "2xx"))
    assert counted[route] == 1
    assert "autoforge_metrics_source_up" in scrape.text
