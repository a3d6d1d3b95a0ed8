"""OpenTelemetry traces from a real engine process to a real OTLP/HTTP receiver on loopback:
the caller's request → the API's server span → the run → each cell → its provider call, one
trace, with run and cell ids; on the Ray executor the cell spans come from evaluator
processes. Nothing secret is exported."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from domain.errors import ConfigurationError
from engine import tracing
from tests.integration.drivers import EXECUTORS, driver_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CASES = 5
PROVIDER_KEY = "sk-trace-secret-" + "k" * 24
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"

_DRIVER = """
import json, os, sys, time
from fastapi.testclient import TestClient
from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from engine import Engine, tracing
from engine.llm import simulator_catalogue

settings = ApiSettings(auth_mode="hs256", auth_hs256_secret="t" * 40,
                       rate_limit_per_minute=100_000)
token = create_token(settings, "tracer")
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=settings)
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.post("/v1/prompts", json={"name": "qa", "template": "{{q}}"}).is_success
        assert client.post("/v1/datasets", json={"name": "cases"}).is_success
        cases = [{"id": f"c{i}", "vars": {"q": f"{i}+1?"}, "expected": str(i + 1)}
                 for i in range(int(sys.argv[1]))]
        assert client.post("/v1/datasets/cases/versions", json={"cases": cases}).is_success
        made = client.post("/v1/runs", headers={"traceparent": sys.argv[2]},
                           json={"prompt": "qa", "dataset": "cases",
                                 "models": ["openai/sim-small"], "scorers": ["icontains"],
                                 "cache": False})
        assert made.status_code == 202, made.text
        run_id = made.json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/v1/runs/{run_id}").json()["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        tracing.flush()
        print(json.dumps({"run_id": run_id, "token": token}), flush=True)
        sys.stdin.readline()  # the evaluators' spans reach the receiver before they stop
    services.close()
"""


@dataclass
class Receiver:
    """An OTLP/HTTP trace receiver: every span it was sent, and the raw bodies."""

    url: str
    spans: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        self.bodies.append(body)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append(_span(span, service["service.name"]))


def _span(span: Any, service: str) -> dict[str, Any]:
    attributes = {}
    for a in span.attributes:
        kind = a.value.WhichOneof("value")
        attributes[a.key] = getattr(a.value, kind) if kind else None
    return {
        "name": span.name,
        "trace": span.trace_id.hex(),
        "id": span.span_id.hex(),
        "parent": span.parent_span_id.hex(),
        "kind": span.kind,
        "service": service,
        "attributes": attributes,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received[0].take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received[0]
    finally:
        server.shutdown()
        server.server_close()


def _wait_for(receiver: Receiver, name: str, count: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(s["name"] == name for s in receiver.spans) < count:
        assert time.monotonic() < deadline, [s["name"] for s in receiver.spans]
        time.sleep(0.05)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_one_trace_runs_from_the_callers_request_to_each_provider_call(
    executor: str, receiver: Receiver, simulator: Any, tmp_path: Path
) -> None:
    import json

    env = driver_env(tmp_path / "data", simulator.api_base, executor)
    env.update(
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        AUTOFORGE_TRACING="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="50",
        OPENAI_API_KEY=PROVIDER_KEY,
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(CASES), TRACEPARENT],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert driver.stdout is not None and driver.stdin is not None
        line = driver.stdout.readline()
        assert line, driver.stderr.read() if driver.stderr else ""
        started = json.loads(line)
        _wait_for(receiver, "cell", CASES)
        _wait_for(receiver, "provider.call", CASES)
        driver.stdin.write("done\n")
        driver.stdin.flush()
        driver.communicate(timeout=120)
        assert driver.returncode == 0
    finally:
        if driver.poll() is None:
            driver.kill()

    spans = receiver.spans
    run_id = started["run_id"]
    (post,) = [s for s in spans if s["name"] == "POST /v1/runs"]
    assert post["trace"] == CALLER_TRACE and post["parent"] == "00f067aa0ba902b7"
    assert post["attributes"]["http.response.status_code"] == 202
    assert post["attributes"]["http.request.method"] == "POST"
    assert "autoforge.request_id" in post["attributes"]
    (run,) = [s for s in spans if s["name"] == "run"]
    assert run["parent"] == post["id"] and run["attributes"]["autoforge.run_id"] == run_id
    cells = [s for s in spans if s["name"] == "cell"]
    assert sorted(c["attributes"]["autoforge.case_id"] for c in cells) == [
        f"c{i}" for i in range(CASES)
    ]
    for cell in cells:
        assert cell["parent"] == run["id"]
        assert cell["attributes"]["autoforge.run_id"] == run_id
        assert cell["attributes"]["autoforge.model"] == "openai/sim-small"
        assert cell["attributes"]["autoforge.cached"] is False
    calls = [s for s in spans if s["name"] == "provider.call"]
    assert sorted(c["parent"] for c in calls) == sorted(c["id"] for c in cells)
    for call in calls:
        assert call["attributes"]["gen_ai.request.model"] == "openai/sim-small"
        assert call["attributes"]["autoforge.outcome"] == "ok"
    assert {s["trace"] for s in [post, run, *cells, *calls]} == {CALLER_TRACE}
    worker = "autoforge-evaluator" if executor == "ray" else "autoforge"
    assert {c["service"] for c in cells} == {worker}
    assert {s["name"] for s in spans if s["name"].startswith("GET ")} >= {"GET /v1/runs/{run_id}"}
    raw = b"".join(receiver.bodies)
    assert PROVIDER_KEY.encode() not in raw and started["token"].encode() not in raw


def test_tracing_is_off_unless_asked_and_a_wrong_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert os.environ.get("AUTOFORGE_TRACING") is None
    assert tracing.configure("test") is False and not tracing.enabled()
    with tracing.span("cell", {"autoforge.run_id": "r"}) as span:
        assert span is None
    assert tracing.traceparent() is None
    monkeypatch.setenv("AUTOFORGE_TRACING", "jaeger-please")
    with pytest.raises(ConfigurationError) as refused:
        tracing.configure("test")
    assert refused.value.details["reason"] == "tracing-mode" and not tracing.enabled()
