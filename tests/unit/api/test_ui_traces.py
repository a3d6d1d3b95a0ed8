"""A flow trace as the case page shows it: the fields `docs/flows.md` names in place, every
other field kept (a list of messages as a transcript, anything else as JSON)."""

from __future__ import annotations

from api.ui.traces import text_of, tool_call_lines, trace_steps, transcript
from domain.llm.tool_calls import ToolCall

LLM = {
    "step": "classify", "kind": "llm", "path": "classify", "inputs": {"question": "refund?"},
    "output": "billing", "wall_ms": 12.5, "prompt_version": "abc", "model": "openai/sim-small",
    "latency_ms": 10.25, "queue_ms": 0.0, "prompt_tokens": 12, "completion_tokens": 3,
    "cost_usd": 1.5e-05, "cached": False, "attempts": 1, "scores": {"label": 1.0},
}  # fmt: skip


def test_an_llm_step_shows_its_latency_tokens_cost_and_scores() -> None:
    (step,) = trace_steps([LLM])
    metrics = dict(step.metrics)
    assert step.kind == "llm" and step.path == "classify" and step.depth == 0
    assert metrics["latency"] == "10.25 ms" and metrics["tokens"] == "12+3"
    assert metrics["cost"] == "$0.000015" and metrics["model"] == "openai/sim-small"
    assert "cached" not in metrics
    assert step.inputs == [("question", "refund?")] and step.output == "billing"
    assert step.scores == [("label", "1")] and step.extra == [] and step.transcripts == []


def test_a_failed_step_in_a_map_keeps_its_error_and_depth() -> None:
    entry = {"step": "add", "kind": "tool", "path": "each[2].add", "error": "tool timed out"}
    (step,) = trace_steps([entry])
    assert step.depth == 1 and step.error == "tool timed out" and step.output is None


def test_unknown_fields_are_shown_not_dropped() -> None:
    entry = {**LLM, "iterations": 3, "stop": {"reason": "max_turns", "at": 3}}
    (step,) = trace_steps([entry])
    assert dict(step.extra) == {
        "iterations": "3",
        "stop": text_of({"reason": "max_turns", "at": 3}),
    }
    assert '"reason": "max_turns"' in dict(step.extra)["stop"]


CALL = {"id": "c1", "name": "weather", "arguments": '{"city": "Paris"}'}


def test_a_conversation_renders_as_a_transcript_with_its_tool_calls() -> None:
    turns = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": {"temp": 21}},
        {"role": "assistant", "content": "21 degrees", "finish_reason": "stop"},
    ]  # fmt: skip
    entry = {"step": "chat", "kind": "conversation", "messages": turns}
    (step,) = trace_steps([entry])
    ((key, messages),) = step.transcripts
    assert key == "messages" and [m.role for m in messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert messages[1].calls == ['weather({"city": "Paris"})'] and messages[1].content == ""
    assert messages[2].name == "c1" and '"temp": 21' in messages[2].content
    assert messages[3].extra == [("finish_reason", "stop")]


def test_turns_holding_messages_flatten_into_one_transcript() -> None:
    turns = [{"turn": 1, "messages": [{"role": "user", "content": "hi"}]},
             {"turn": 2, "messages": [{"role": "assistant", "content": "hello"}]}]  # fmt: skip
    found = transcript(turns)
    assert found is not None and [m.content for m in found] == ["hi", "hello"]
    assert transcript([{"a": 1}]) is None and transcript("text") is None and transcript([]) is None


def test_tool_calls_read_from_records_and_from_dicts() -> None:
    call = ToolCall.of("c1", "lookup", '{"q": 1}')
    assert tool_call_lines((call,)) == [("lookup", '{"q": 1}')]
    bad = {"name": "lookup", "arguments": "{", "parse_error": "not JSON"}
    assert tool_call_lines([bad]) == [("lookup", "{\n(not JSON)")]


def test_a_single_prompt_cell_has_no_steps_and_junk_entries_are_skipped() -> None:
    assert trace_steps(None) == [] and trace_steps(["junk", LLM])[0].number == 2
