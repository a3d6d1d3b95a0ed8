"""Tool calls through a real run: the simulator (over HTTP) answers a run that offers tools
with tool calls; they are recorded, read back by `run.records()`, served by the cells
endpoint, scored by the tool scorers, and a cached re-run gives the same calls.

Inline executor (no Ray), embedded Redis, a DB file, the app in-process.
"""

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
from api.services import ApiServices
from engine.keys import Keyring, new_master_key
from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="t" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_currency",
            "description": "Convert an amount of money between currencies",
            "parameters": {
                "type": "object",
                "properties": {"amount": {"type": "number", "minimum": 0}},
                "required": ["amount"],
            },
        },
    },
]
QUESTIONS = {
    "w-paris": ("What is the weather in Paris?", "get_weather"),
    "w-tokyo": ("Tell me the weather in Tokyo in fahrenheit", "get_weather"),
    "money": ("Convert 120 dollars of money to euros", "convert_currency"),
    "chat": ("Hello there, how old is the moon?", None),
}
SCORERS = [
    {"type": "is-valid-openai-tools-call", "name": "valid"},
    {"type": "tool-call-f1", "name": "f1"},
    {"type": "tool-called", "name": "called"},
    {"type": "tool-not-called", "name": "no-currency", "args": {"name": "convert_currency"}},
    {"type": "tool-trajectory", "name": "path"},
]


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SETTINGS, user)}"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, simulator: Any) -> Iterator[Any]:
    from engine.sdk import Engine

    owner = f"tools-{uuid.uuid4().hex[:6]}"
    engine = Engine(data_dir=tmp_path_factory.mktemp("tools"), executor="inline", owner=owner)
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    services = ApiServices.from_runtime(
        engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("t"))
    )
    engine.prompts.create("assistant", "{{q}}")
    engine.datasets.create("asks")
    engine.datasets.add(
        "asks",
        [
            {
                "id": case,
                "variables": {"q": q},
                "metadata": {
                    "expected_tool_calls": [tool] if tool else [],
                    "expected_tool_trajectory": [tool] if tool else [],
                },
            }
            for case, (q, tool) in QUESTIONS.items()
        ],
    )
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        yield engine, client, owner
    services.close()
    engine.close()


def _run(engine: Any) -> Any:
    run = engine.evaluate(
        prompt="assistant",
        dataset="asks",
        models=["openai/sim-small"],
        scorers=SCORERS,
        params={"tools": TOOLS},
    )
    assert run.wait(progress=False, timeout=60).status.value == "completed"
    return run


def test_a_run_offering_tools_records_scores_and_serves_the_calls(setup: Any) -> None:
    engine, client, owner = setup
    first = _run(engine)
    records = {r.case_id: r for r in first.records()}
    assert set(records) == set(QUESTIONS)
    for case, (_q, tool) in QUESTIONS.items():
        record = records[case]
        assert record.error is None
        if tool is None:
            assert record.tool_calls == () and record.finish_reason == "stop"
            assert record.scores["called"] == 0.0 and record.scores["no-currency"] == 1.0
            continue
        assert record.finish_reason == "tool_calls"
        assert [c.name for c in record.tool_calls] == [tool]
        call = record.tool_calls[0]
        assert call.parse_error is None and call.id.startswith("call_")
        assert call.parsed == __import__("json").loads(call.arguments)
        assert record.scores["valid"] == 1.0, record.reasons
        assert record.scores["f1"] == 1.0 and record.scores["path"] == 1.0
        assert record.scores["called"] == 1.0
        assert record.scores["no-currency"] == (0.0 if tool == "convert_currency" else 1.0)
    assert records["w-paris"].tool_calls[0].parsed["city"] == "Paris"
    assert records["w-tokyo"].tool_calls[0].parsed.get("unit", "fahrenheit") == "fahrenheit"
    assert records["money"].tool_calls[0].parsed["amount"] == 120

    listed = client.get(f"/v1/runs/{first.id}/cells", headers=_headers(owner))
    assert listed.status_code == 200, listed.text
    cells = {c["case_id"]: c for c in listed.json()["items"]}
    for case, record in records.items():
        served = cells[case]
        assert served["finish_reason"] == record.finish_reason
        assert served["tool_calls"] == [c.to_dict() for c in record.tool_calls]
    assert not any(c["cached"] for c in cells.values())
    stranger = client.get(f"/v1/runs/{first.id}/cells", headers=_headers("mallory"))
    assert stranger.status_code == 404

    again = _run(engine)
    cached = {r.case_id: r for r in again.records()}
    assert all(r.cached for r in cached.values())
    assert {k: r.tool_calls for k, r in cached.items()} == {
        k: r.tool_calls for k, r in records.items()
    }
    assert {k: r.scores for k, r in cached.items()} == {k: r.scores for k, r in records.items()}


def test_the_html_report_shows_the_tool_calls(setup: Any, tmp_path: Path) -> None:
    engine, client, owner = setup
    run = _run(engine)
    page = client.get(f"/v1/runs/{run.id}/report?format=html", headers=_headers(owner))
    assert page.status_code == 200, page.text
    # The money cell fails `no-currency`: its row in the failed cases shows the call made.
    assert "convert_currency({&quot;amount&quot;: 120" in page.text
    assert "get_weather(" not in page.text  # the weather cells passed: not listed
