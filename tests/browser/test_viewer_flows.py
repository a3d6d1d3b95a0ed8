"""A flow run's traces in a real Chromium: a real flow (llm → condition → transform) run on
the simulator, each cell's steps on the case page with their kind, inputs, output, latency,
tokens and cost; and a trace carrying fields this viewer does not know (a conversation's
turns with tool calls, a loop's stop reason) shown whole, as a transcript and as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from domain.evaluation.rows import ResultRow
from engine.evaluation.runs import RunStore
from tests.browser.conftest import Viewer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FLOW = {
    "inputs": ["question"],
    "output": "answer",
    "steps": [
        {"name": "classify", "kind": "llm", "prompt": "triage@main"},
        {
            "name": "route",
            "kind": "condition",
            "when": {"var": "classify", "contains": "billing"},
            "then": "billing",
            "otherwise": "general",
        },
        {
            "name": "billing",
            "kind": "transform",
            "template": "billing: {{ classify }}",
            "output": "answer",
            "next": "end",
        },  # fmt: skip
        {
            "name": "general",
            "kind": "transform",
            "template": "general: {{ classify }}",
            "output": "answer",
        },  # fmt: skip
    ],
}


def test_a_flow_cells_trace_step_by_step(viewer: Viewer, page: Any) -> None:
    engine = viewer.engine
    engine.prompts.create("triage", "Classify into billing or technical: {{ question }}")
    engine.flows.create("support", FLOW)
    engine.datasets.create("tickets")
    engine.datasets.add(
        "tickets",
        [
            {"id": "t-refund", "vars": {"question": "Refund my invoice"}, "expected": "billing"},
            {"id": "t-crash", "vars": {"question": "The app crashes"}, "expected": "technical"},
        ],
    )
    run = engine.evaluate(
        flow="support@main", dataset="tickets", models=["openai/sim-small"], scorers=["icontains"]
    )
    run.wait(progress=False, timeout=120)
    (cell,) = [r for r in run.records() if r.case_id == "t-refund"]
    assert cell.trace is not None
    page.goto(f"{viewer.url}/ui/runs/{run.id}")
    expect(page.locator("tr.case-row", has_text="t-refund")).to_contain_text("steps")
    page.goto(f"{viewer.url}/ui/runs/{run.id}/cases/t-refund")
    steps = page.locator("ol.trace-steps > li.trace-step")
    expect(steps).to_have_count(len(cell.trace))
    kinds = [entry["kind"] for entry in cell.trace]
    assert steps.locator(".badge.kind").all_inner_texts() == kinds
    llm = steps.first
    expect(llm).to_contain_text("classify")
    expect(llm.locator("dl.vars")).to_contain_text("Refund my invoice")
    first = cell.trace[0]
    expect(llm.locator(".metrics")).to_contain_text(
        f"tokens {first['prompt_tokens']}+{first['completion_tokens']}"
    )
    expect(llm.locator(".metrics")).to_contain_text("latency")
    expect(llm.locator(".metrics")).to_contain_text("cost $")
    expect(llm.locator("pre.output")).to_have_text(str(first["output"]))
    last = steps.last
    expect(last.locator("pre.output")).to_have_text(str(cell.trace[-1]["output"]))
    viewer.shot(page, "18-flow-trace")


def test_unknown_trace_fields_and_a_conversation_are_shown(viewer: Viewer, page: Any) -> None:
    seeded = viewer.seeded
    conversation = [
        {"role": "user", "content": "Is Country 3's capital City3?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "name": "atlas", "arguments": '{"country": "Country 3"}'}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "City3"},
        {"role": "assistant", "content": "Yes: City3."},
    ]  # fmt: skip
    trace = (
        {
            "step": "chat",
            "kind": "conversation",
            "path": "chat",
            "turns": conversation,
            "wall_ms": 31.5,
            "stop": {"reason": "answered", "turns": 2},
        },  # fmt: skip
        {"step": "check", "kind": "tool", "path": "chat.check", "error": "tool timed out"},
    )
    RunStore(viewer.engine.runtime.db).record(
        [
            ResultRow(
                run_id=seeded.run_id,
                prompt_version=seeded.versions[0],
                model=seeded.models[0],
                case_id="case-00003",
                repeat=1,
                output="Yes: City3.",
                passed=True,
                score=1.0,
                trace=trace,
            )
        ]
    )
    page.goto(f"{viewer.url}/ui/runs/{seeded.run_id}/cases/case-00003?repeat=1")
    transcript = page.locator("ol.transcript > li.msg")
    expect(transcript).to_have_count(4)
    roles = transcript.locator(".role").all_inner_texts()
    assert [r.strip().lower() for r in roles] == ["user", "assistant", "tool", "assistant"]
    expect(transcript.nth(1)).to_contain_text('atlas({"country": "Country 3"})')
    expect(transcript.nth(2)).to_contain_text("call_1")
    chat = page.locator("li.trace-step", has_text="chat").first
    expect(chat).to_contain_text('"reason": "answered"')  # unknown field: JSON
    failed = page.locator("li.trace-step.t-error")
    expect(failed.locator("pre.error")).to_have_text("tool timed out")
    assert "depth-1" in (failed.get_attribute("class") or "")
    viewer.shot(page, "19-trace-conversation")
