"""Conversations and tool rounds in the flow interpreter, every call made by a real
`LLMClient` against the simulator over HTTP: scripted and simulated users, a case's
history, the model's tool calls executed and fed back, each turn and call in the trace."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actors.gateway_links import local_links
from domain.datasets import TestCase
from domain.flows import Flow, check_flow
from domain.prompts import ModelSettings, Template
from engine.evaluation.flow_runner import (
    CellCall,
    FlowExecution,
    FlowOutcome,
    FlowPlan,
    PinnedPrompt,
)
from engine.llm import LLMClient, simulator_catalogue
from engine.sdk.flows import tool_schema

pytestmark = pytest.mark.integration

AGENT = PinnedPrompt(
    "agent@main",
    "a" * 64,
    Template.from_messages([{"role": "system", "content": "You help with {{ topic }}."}]),
    ModelSettings(),
)
USER = PinnedPrompt(
    "customer@main",
    "b" * 64,
    Template.from_text(
        "You are a customer. The chat so far:\n{{ transcript }}\nSay your next line."
    ),
    ModelSettings(),
)
ASK = PinnedPrompt(
    "ask@main", "c" * 64, Template.from_text("Where is my order {{ number }}?"), ModelSettings()
)
HISTORY = [
    {"role": "user", "content": "Hello, my parcel is late."},
    {"role": "assistant", "content": "Sorry to hear that. What is the order?"},
]


def lookup_order(order: int) -> dict[str, Any]:
    """Look up an order by its number: where it is."""
    return {"order": order, "status": "shipped"}


@pytest.fixture
def client(simulator: Any) -> Iterator[LLMClient]:
    yield LLMClient(simulator_catalogue(simulator.api_base), redis_url=None, links=local_links())


def run(
    client: LLMClient,
    data: dict[str, Any],
    case: TestCase,
    prompts: dict[str, PinnedPrompt],
    tools: dict[str, Any] | None = None,
) -> FlowOutcome:
    flow = Flow.from_dict(data)
    check_flow(flow)
    tools = tools or {}
    schemas = {name: tool_schema(name, fn) for name, fn in tools.items()}
    plan = FlowPlan(flow, prompts, tools, schemas)
    call = CellCall({"model": "openai/sim-large"}, {"temperature": 0}, 0, False, "r", "o", "r:c")

    async def go() -> FlowOutcome:
        try:
            return await FlowExecution(plan, case, call, client.complete).run()
        finally:
            await client.aclose()

    return asyncio.run(go())


def chat(user: dict[str, Any], max_turns: int = 5) -> dict[str, Any]:
    return {
        "inputs": ["topic", "script"],
        "output": "chat",
        "steps": [
            {
                "name": "chat",
                "kind": "conversation",
                "prompt": "agent",
                "user": user,
                "max_turns": max_turns,
            }
        ],
    }


def test_a_scripted_user_speaks_each_turn_after_the_case_history(client: LLMClient) -> None:
    script = ["It is order 42.", "When will it arrive?"]
    case = TestCase(variables={"topic": "parcels", "script": script}, messages=HISTORY)
    done = run(client, chat({"script": "script"}), case, {"chat": AGENT})
    assert done.error is None, done.error
    roles = [m["role"] for m in done.transcript]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert done.transcript[1:3] == HISTORY
    assert [m["content"] for m in done.transcript if m["role"] == "user"][1:] == script
    assert done.output == done.transcript[-1]["content"] and done.output
    turns = [e for e in done.trace if e["step"] == "chat.assistant"]
    assert [e["path"] for e in turns] == ["chat[0].assistant", "chat[1].assistant"]
    assert all(e["prompt_tokens"] > 0 and e["latency_ms"] > 0 for e in turns)
    assert done.calls == 2 and done.trace[-1]["turns"] == 2


def test_max_turns_bounds_a_long_script(client: LLMClient) -> None:
    case = TestCase(variables={"topic": "t", "script": ["a", "b", "c", "d"]})
    done = run(client, chat({"script": "script"}, max_turns=2), case, {"chat": AGENT})
    assert done.error is None and done.calls == 2
    assert [m["content"] for m in done.transcript if m["role"] == "user"] == ["a", "b"]


def test_an_empty_script_without_history_fails_the_step(client: LLMClient) -> None:
    case = TestCase(variables={"topic": "t", "script": []})
    done = run(client, chat({"script": "script"}), case, {"chat": AGENT})
    assert done.error is not None and "'chat'" in done.error and done.calls == 0


def test_a_simulated_user_is_a_prompt_called_each_turn(client: LLMClient) -> None:
    case = TestCase(variables={"topic": "parcels", "script": []}, messages=HISTORY[:1])
    done = run(
        client,
        chat({"prompt": "customer", "model": "openai/sim-small"}, max_turns=3),
        case,
        {"chat": AGENT, "chat.user": USER},
    )
    assert done.error is None, done.error
    assistant = [e for e in done.trace if e["step"] == "chat.assistant"]
    users = [e for e in done.trace if e["step"] == "chat.user"]
    # the history ends with the user: the assistant answers it, then the user speaks twice
    assert len(assistant) == 3 and len(users) == 2 and done.calls == 5
    assert all(e["model"] == "openai/sim-small" for e in users)
    assert "Hello, my parcel is late." in users[0]["inputs"]["transcript"]
    said = [m["content"] for m in done.transcript if m["role"] == "user"]
    assert said[1:] == [e["output"] for e in users]


def test_tool_calls_are_run_and_fed_back_until_a_text_answer(client: LLMClient) -> None:
    data = {
        "inputs": ["number"],
        "output": "ask",
        "steps": [{"name": "ask", "kind": "llm", "prompt": "ask", "tools": ["lookup_order"]}],
    }
    case = TestCase(variables={"number": 42})
    done = run(client, data, case, {"ask": ASK}, {"lookup_order": lookup_order})
    assert done.error is None, done.error
    assert [c.name for c in done.tool_calls] == ["lookup_order"]
    assert done.tool_calls[0].parsed == {"order": 42}
    (ran,) = [e for e in done.trace if e["kind"] == "tool"]
    assert ran["output"] == {"order": 42, "status": "shipped"} and ran["latency_ms"] >= 0
    ask = done.trace[-1]
    assert ask["step"] == "ask" and ask["calls"] == 2 and ask["tool_rounds"] == 1
    assert ask["tool_calls"] == [{"name": "lookup_order", "arguments": '{"order": 42}'}]
    assert [m["role"] for m in done.transcript] == ["user", "assistant", "tool", "assistant"]
    assert done.transcript[-1]["content"] == done.output and done.calls == 2


def test_a_failing_tool_is_fed_back_to_the_model_and_recorded(client: LLMClient) -> None:
    def lookup_order(order: int) -> dict[str, Any]:
        """Look up an order by its number."""
        raise RuntimeError(f"no order {order}")

    data = {
        "inputs": ["number"],
        "output": "ask",
        "steps": [{"name": "ask", "kind": "llm", "prompt": "ask", "tools": ["lookup_order"]}],
    }
    done = run(
        client,
        data,
        TestCase(variables={"number": 7}),
        {"ask": ASK},
        {"lookup_order": lookup_order},
    )
    assert done.error is None, done.error
    (ran,) = [e for e in done.trace if e["kind"] == "tool"]
    assert "RuntimeError: no order 7" in ran["error"]
    assert done.transcript[2]["role"] == "tool" and "no order 7" in done.transcript[2]["content"]


def test_a_slow_tool_is_cut_at_the_step_timeout(client: LLMClient) -> None:
    async def lookup_order(order: int) -> str:
        """Look up an order by its number."""
        await asyncio.sleep(5)
        return "late"

    data = {
        "inputs": ["number"],
        "output": "ask",
        "steps": [
            {
                "name": "ask",
                "kind": "llm",
                "prompt": "ask",
                "tools": ["lookup_order"],
                "timeout_s": 0.3,
            }
        ],
    }
    done = run(
        client,
        data,
        TestCase(variables={"number": 7}),
        {"ask": ASK},
        {"lookup_order": lookup_order},
    )
    (ran,) = [e for e in done.trace if e["kind"] == "tool"]
    assert "timed out after" in ran["error"] and ran["latency_ms"] < 2_000


@pytest.mark.parametrize(
    ("seed", "why"),
    [(3, "arguments are not valid JSON"), (2, "missing 1 required positional argument")],
)
def test_malformed_arguments_are_fed_back_to_the_model(seed: int, why: str) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    data = {
        "inputs": ["number"],
        "output": "ask",
        "steps": [
            {
                "name": "ask",
                "kind": "llm",
                "prompt": "ask",
                "tools": ["lookup_order"],
                "max_tool_rounds": 1,
            }
        ],
    }
    ran: list[Any] = []

    def counted(order: int) -> dict[str, Any]:
        """Look up an order by its number: where it is."""
        ran.append(order)
        return {"order": order}

    # Every call malformed: with seed 3 invalid JSON (never run), with seed 2 JSON that
    # drops the required property (run, and the tool's own error fed back).
    with running_simulator(SimulatorConfig(seed=seed, tool_error_rate=1.0)) as broken:
        client = LLMClient(
            simulator_catalogue(broken.api_base), redis_url=None, links=local_links()
        )
        done = run(
            client,
            data,
            TestCase(variables={"number": 42}),
            {"ask": ASK},
            {"lookup_order": counted},
        )
    assert done.error is None, done.error
    (call,) = done.tool_calls
    entry = next(e for e in done.trace if e["kind"] == "tool")
    assert why in entry["error"] and ran == []
    assert (call.parse_error is None) == (seed == 2)
    assert done.transcript[2]["role"] == "tool" and why in done.transcript[2]["content"]
    assert done.trace[-1]["calls"] == 2 and done.output


def test_scorers_see_the_conversation_not_a_later_llm_steps_messages(client: LLMClient) -> None:
    data = chat({"script": "script"}, max_turns=1)
    data["steps"].append(
        {"name": "after", "kind": "llm", "prompt": "ask", "inputs": {"number": "chat"}}
    )
    data["output"] = "after"
    case = TestCase(variables={"topic": "t", "script": ["hello there"]})
    done = run(client, data, case, {"chat": AGENT, "after": ASK})
    assert done.error is None, done.error
    assert [m["role"] for m in done.transcript] == ["system", "user", "assistant"]
    assert done.transcript[1]["content"] == "hello there" and done.calls == 2
