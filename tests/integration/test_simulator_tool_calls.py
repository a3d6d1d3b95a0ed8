"""The simulator answers requests offering tools with OpenAI-shaped tool calls over real
HTTP: deterministic by request, valid against the tool's schema at rate 0, malformed at the
configured rate; the LLM client keeps them on both call paths and in the cache."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actors.gateway_links import local_links
from domain.llm import ToolCall
from domain.scoring.json_schema import closed_validator
from engine.cli.simulator import build_parser
from engine.llm import CompletionRequest, LLMClient, simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator
from engine.simulator._runners import config_argv

pytestmark = [pytest.mark.integration, pytest.mark.slow]
_HTTP = httpx.Client(timeout=10)  # one connection pool: 400 requests in one test

ORDER = {
    "type": "object",
    "$defs": {
        "item": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "minLength": 3, "maxLength": 12},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            "required": ["sku", "quantity"],
            "additionalProperties": False,
        }
    },
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 2},
        "express": {"type": "boolean"},
        "priority": {"enum": ["low", "normal", "high"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "discount": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
    },
    "required": ["items", "priority"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "place_order", "description": "Order products",
                                      "parameters": ORDER}},
    {"type": "function", "function": {"name": "get_weather", "description": "Weather forecast",
                                      "parameters": WEATHER}},
]  # fmt: skip
SCHEMAS = {"place_order": ORDER, "get_weather": WEATHER}
QUESTIONS = [
    *(f"Please order {n} boxes of Widgets with high priority (ref {n})" for n in range(20)),
    *(f"What is the weather forecast in City{n} for {n % 7 + 1} days?" for n in range(20)),
]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=3)) as simulator:
        yield simulator


def _chat(api_base: str, question: str, **extra: Any) -> dict[str, Any]:
    body = {
        "model": "sim-small",
        "messages": [{"role": "user", "content": question}],
        "tools": TOOLS,
        **extra,
    }
    reply = _HTTP.post(f"{api_base}/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _valid(call: dict[str, Any]) -> bool:
    function = call["function"]
    try:
        arguments = json.loads(function["arguments"])
    except ValueError:
        return False
    validator = closed_validator(SCHEMAS[function["name"]])
    return not list(validator.iter_errors(arguments))


def test_a_relevant_question_gets_an_openai_shaped_tool_call(sim: Simulator) -> None:
    choice = _chat(sim.api_base, "What is the weather forecast in Lisbon?")["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant" and message["content"] is None
    [call] = message["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] == "Lisbon"


def test_calls_are_deterministic_and_valid_at_rate_zero(sim: Simulator) -> None:
    first = [_chat(sim.api_base, q)["choices"][0] for q in QUESTIONS]
    again = [_chat(sim.api_base, q)["choices"][0] for q in QUESTIONS]
    assert first == again
    calls = [c["message"]["tool_calls"][0] for c in first]
    assert [c["function"]["name"] for c in calls] == ["place_order"] * 20 + ["get_weather"] * 20
    assert all(_valid(c) for c in calls), [c for c in calls if not _valid(c)][:2]
    order = json.loads(calls[0]["function"]["arguments"])
    assert order["priority"] == "high" and len(order["items"]) == 2
    forecast = json.loads(calls[25]["function"]["arguments"])
    assert forecast["city"] == "City" and forecast.get("days", 5) in (5, 6)  # "City5 ... 6 days"


def test_tool_choice_and_tool_results_decide_whether_a_call_is_made(sim: Simulator) -> None:
    unrelated = "Hello, how old is the moon?"
    text = _chat(sim.api_base, unrelated)["choices"][0]
    assert text["finish_reason"] == "stop" and "tool_calls" not in text["message"]
    required = _chat(sim.api_base, unrelated, tool_choice="required")["choices"][0]
    assert required["finish_reason"] == "tool_calls" and _valid(
        required["message"]["tool_calls"][0]
    )
    named = {"type": "function", "function": {"name": "place_order"}}
    forced = _chat(sim.api_base, "weather in Oslo?", tool_choice=named)["choices"][0]
    assert forced["message"]["tool_calls"][0]["function"]["name"] == "place_order"
    off = _chat(sim.api_base, "weather in Oslo?", tool_choice="none")["choices"][0]
    assert off["finish_reason"] == "stop"
    answered = httpx.post(
        f"{sim.api_base}/chat/completions",
        json={
            "model": "sim-small",
            "tools": TOOLS,
            "messages": [
                {"role": "user", "content": "weather in Oslo?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21 C"},
            ],
        },
    ).json()["choices"][0]  # fmt: skip
    assert answered["finish_reason"] == "stop"


def test_malformed_tools_are_refused_like_openai(sim: Simulator) -> None:
    body = {"model": "sim-small", "messages": [{"role": "user", "content": "x"}], "tools": [{}]}
    reply = httpx.post(f"{sim.api_base}/chat/completions", json=body)
    assert reply.status_code == 400 and "function" in reply.json()["error"]["message"]


def test_a_streamed_answer_carries_the_tool_call_in_its_delta(sim: Simulator) -> None:
    body = {
        "model": "sim-small",
        "messages": [{"role": "user", "content": "weather forecast in Rome"}],
        "tools": TOOLS,
        "stream": True,
    }
    raw = httpx.post(f"{sim.api_base}/chat/completions", json=body).text
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    delta = events[0]["choices"][0]["delta"]
    assert delta["tool_calls"][0]["index"] == 0
    assert delta["tool_calls"][0]["function"]["name"] == "get_weather"
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_the_configured_share_of_calls_is_malformed() -> None:
    n, rate = 400, 0.3
    with running_simulator(SimulatorConfig(seed=5, tool_error_rate=rate)) as flaky:
        calls = [
            _chat(flaky.api_base, f"Please order {i} Widgets, priority low")["choices"][0][
                "message"
            ]["tool_calls"][0]
            for i in range(n)
        ]
        stats = flaky.stats()
    bad_json = sum(1 for c in calls if not _parses(c["function"]["arguments"]))
    bad_schema = sum(1 for c in calls if _parses(c["function"]["arguments"]) and not _valid(c))
    malformed = bad_json + bad_schema
    # Binomial sd at n=400 is 0.023: 3 sd either side.
    assert abs(malformed / n - rate) < 0.07, (bad_json, bad_schema)
    assert bad_json > 20 and bad_schema > 20
    assert stats["malformed_tool_calls"] == malformed and stats["tool_calls"] == n


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_the_cli_flag_sets_the_rate_and_a_bad_rate_is_refused() -> None:
    args = build_parser().parse_args(["--tool-error-rate", "0.25"])
    assert args.tool_error_rate == 0.25
    config = SimulatorConfig(tool_error_rate=0.25)
    assert build_parser().parse_args(config_argv(config)).tool_error_rate == 0.25
    from domain.errors import ValidationError

    with pytest.raises(ValidationError, match="tool_error_rate"):
        SimulatorConfig(tool_error_rate=1.5)


@pytest.fixture(params=["http", "litellm"])
def call_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Our lean OpenAI-compatible HTTP path and LiteLLM's."""
    if request.param == "litellm":
        monkeypatch.setenv("AUTOFORGE_LITELLM_ONLY", "1")
    else:
        monkeypatch.delenv("AUTOFORGE_LITELLM_ONLY", raising=False)
    return str(request.param)


async def test_the_client_keeps_tool_calls_on_both_paths_and_in_the_cache(
    call_path: str, redis_url: str
) -> None:
    with running_simulator(SimulatorConfig(seed=9, tool_error_rate=0.5)) as flaky:
        catalogue = simulator_catalogue(flaky.api_base, name=f"tc-{uuid.uuid4().hex[:8]}")
        client = LLMClient(catalogue, redis_url=redis_url, links=local_links())
        tag = uuid.uuid4().hex[:6]
        requests = [
            CompletionRequest(
                "openai/sim-small",
                [{"role": "user", "content": f"Please order {i} Widgets now ({tag})"}],
                params={"tools": TOOLS},
            )
            for i in range(12)
        ]
        fresh = [await client.complete(r) for r in requests]
        await client.flush()
        cached = [
            await client.complete(CompletionRequest(r.model, r.messages, r.params))
            for r in requests
        ]
        await client.aclose()
    assert all(r.ok and r.finish_reason == "tool_calls" and not r.cached for r in fresh)
    assert all(isinstance(c, ToolCall) for r in fresh for c in r.tool_calls)
    assert all(r.cached for r in cached)
    assert [r.tool_calls for r in cached] == [r.tool_calls for r in fresh]
    calls = [r.tool_calls[0] for r in fresh]
    assert any(c.parse_error for c in calls) and any(c.ok for c in calls)
    for c in calls:
        assert c.name == "place_order"
        assert (
            (c.parsed == json.loads(c.arguments))
            if c.ok
            else "not valid JSON" in str(c.parse_error)
        )
