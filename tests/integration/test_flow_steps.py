"""The flow interpreter step by step, its LLM calls made by a real `LLMClient` against the
simulator over HTTP: loops, maps, tools (timed, bounded), parse failures, traces."""

from __future__ import annotations

import asyncio
import json
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

pytestmark = pytest.mark.integration

ADD = PinnedPrompt(
    "add@main", "a" * 64, Template.from_text("What is {{ item }} + 1?"), ModelSettings()
)


@pytest.fixture
def client(simulator: Any) -> Iterator[LLMClient]:
    yield LLMClient(simulator_catalogue(simulator.api_base), redis_url=None, links=local_links())


def run(
    client: LLMClient,
    data: dict[str, Any],
    variables: dict[str, Any],
    prompts: dict[str, PinnedPrompt] | None = None,
    tools: dict[str, Any] | None = None,
) -> FlowOutcome:
    flow = Flow.from_dict(data)
    check_flow(flow)
    plan = FlowPlan(flow, prompts or {}, tools or {})
    call = CellCall(
        route={"model": "openai/sim-large"},
        params={"temperature": 0},
        repeat=0,
        cache=False,
        run_id="r",
        owner="o",
        call_id="r:cell",
    )

    async def go() -> FlowOutcome:
        try:
            return await FlowExecution(
                plan, TestCase(id="c", variables=variables, expected="x"), call, client.complete
            ).run()
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_map_fans_out_llm_calls_and_collects_in_order(client: LLMClient) -> None:
    done = run(
        client,
        {
            "inputs": ["numbers"],
            "output": "each",
            "steps": [
                {
                    "name": "each",
                    "kind": "map",
                    "over": "numbers",
                    "max_items": 5,
                    "body": [{"name": "add", "kind": "llm", "prompt": "add"}],
                }
            ],
        },
        {"numbers": [1, 2, 3]},
        prompts={"add": ADD},
    )
    assert done.error is None, done.error
    assert done.calls == 3 and done.prompt_tokens > 0
    paths = {e["path"] for e in done.trace if e["kind"] == "llm"}
    assert paths == {"each[0].add", "each[1].add", "each[2].add"}
    answers = [e for e in done.trace if e["kind"] == "llm"]
    assert {e["inputs"]["item"] for e in answers} == {1, 2, 3}
    collected = json.loads(done.output or "")
    assert [str(n + 1) in answer for n, answer in zip([1, 2, 3], collected, strict=True)] == [
        True
    ] * 3
    assert done.trace[-1]["step"] == "each" and done.trace[-1]["items"] == 3


def test_a_map_over_more_items_than_its_bound_fails_the_step(client: LLMClient) -> None:
    done = run(
        client,
        {
            "inputs": ["numbers"],
            "output": "each",
            "steps": [
                {
                    "name": "each",
                    "kind": "map",
                    "over": "numbers",
                    "max_items": 2,
                    "body": [{"name": "add", "kind": "llm", "prompt": "add"}],
                }
            ],
        },
        {"numbers": [1, 2, 3]},
        prompts={"add": ADD},
    )
    assert done.error is not None and "max_items=2" in done.error and "'each'" in done.error
    assert done.calls == 0


def test_a_loop_stops_when_its_test_holds_or_at_its_bound(client: LLMClient) -> None:
    counter = {"n": 0}

    def tick() -> int:
        counter["n"] += 1
        return counter["n"]

    flow = {
        "inputs": [],
        "output": "count",
        "steps": [
            {
                "name": "again",
                "kind": "loop",
                "max_iterations": 5,
                "when": {"var": "count", "at_least": 3},
                "body": [{"name": "count", "kind": "tool", "tool": "tick"}],
            }
        ],
    }
    done = run(client, flow, {}, tools={"tick": tick})
    assert (done.output, counter["n"]) == ("3", 3)
    assert [e for e in done.trace if e["step"] == "again"][0]["iterations"] == 3
    flow["steps"][0]["when"] = {"var": "count", "at_least": 99}
    counter["n"] = 0
    done = run(client, flow, {}, tools={"tick": tick})
    assert (done.output, counter["n"]) == ("5", 5)


def test_a_slow_tool_times_out_and_a_failing_one_is_the_steps_error(client: LLMClient) -> None:
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    def boom() -> str:
        raise RuntimeError("disk full")

    for tool, fragment in ((slow, "timed out after 0.1 s"), (boom, "RuntimeError: disk full")):
        done = run(
            client,
            {
                "inputs": [],
                "output": "out",
                "steps": [{"name": "out", "kind": "tool", "tool": "t", "timeout_s": 0.1}],
            },
            {},
            tools={"t": tool},
        )
        assert done.error is not None and fragment in done.error and "'out'" in done.error
        assert done.trace[0]["error"] == done.error
        assert done.trace[0]["latency_ms"] < 2000


def test_an_unparsable_json_answer_fails_its_step_with_the_trace_so_far(
    client: LLMClient,
) -> None:
    done = run(
        client,
        {
            "inputs": ["item"],
            "output": "label",
            "steps": [
                {"name": "ask", "kind": "llm", "prompt": "add", "parse": "json"},
                {"name": "label", "kind": "transform", "template": "{{ ask }}"},
            ],
        },
        {"item": 4},
        prompts={"ask": ADD},
    )
    assert done.error is not None and done.error.startswith("step 'ask'")
    assert "not JSON" in done.error
    assert [e["step"] for e in done.trace] == ["ask"]
    assert done.trace[0]["prompt_tokens"] > 0 and done.calls == 1


def test_a_transform_renders_earlier_outputs_without_evaluating_them(client: LLMClient) -> None:
    done = run(
        client,
        {
            "inputs": ["text"],
            "output": "out",
            "steps": [{"name": "out", "kind": "transform", "template": "<{{ text }}>"}],
        },
        {"text": "{{ __import__('os') }}"},
    )
    assert done.output == "<{{ __import__('os') }}>"
    assert done.calls == 0 and done.trace[0]["inputs"] == {"text": "{{ __import__('os') }}"}


def test_a_condition_branches_on_a_score_and_a_step_scores_its_output(
    client: LLMClient,
) -> None:
    flow = {
        "inputs": ["text"],
        "output": "out",
        "steps": [
            {
                "name": "wrap",
                "kind": "transform",
                "template": "{{ text }}",
                "scorers": [{"type": "is-json", "name": "json"}],
            },
            {
                "name": "valid",
                "kind": "condition",
                "then": "yes",
                "otherwise": "no",
                "when": {"var": "wrap", "scorer": {"type": "is-json"}, "at_least": 1},
            },
            {
                "name": "yes",
                "kind": "transform",
                "template": "json",
                "output": "out",
                "next": "end",
            },
            {"name": "no", "kind": "transform", "template": "text", "output": "out"},
        ],
    }
    for text, expected, score in (('{"a": 1}', "json", 1.0), ("plain", "text", 0.0)):
        done = run(client, flow, {"text": text})
        assert done.output == expected
        assert done.trace[0]["scores"] == {"json": score}
        assert done.step_scores == {"wrap.json": [score]}
