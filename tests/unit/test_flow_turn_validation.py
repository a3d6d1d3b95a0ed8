"""Conversation steps, llm steps offering tools and cases with a history: refused at commit
(naming the step) or at creation when malformed; the canonical form round-trips."""

from __future__ import annotations

from typing import Any

import pytest

from domain.datasets import TestCase
from domain.errors import NotFoundError, ValidationError
from domain.flows import Flow, Known, check_flow
from domain.prompts import Template

PROMPTS = {"agent": ("topic",), "customer": ("transcript", "mood"), "ask": ("q",)}


def _variables(name: str, _ref: str) -> tuple[str, ...]:
    if name not in PROMPTS:
        raise NotFoundError(f"no prompt {name!r}")
    return PROMPTS[name]


KNOWN = Known(tools={"lookup"}, prompt_variables=_variables)


def chat(**changes: Any) -> dict[str, Any]:
    step = {
        "name": "chat",
        "kind": "conversation",
        "prompt": "agent",
        "user": {"script": "script"},
        "max_turns": 4,
    }
    step.update(changes)
    return {"inputs": ["topic", "script", "mood", "q"], "output": "chat", "steps": [step]}


def refused(data: dict[str, Any], known: Known = KNOWN) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as caught:
        check_flow(Flow.from_dict(data), known)
    return caught.value.details["reason"], caught.value.details.get("step")


def test_a_conversation_flow_passes_and_round_trips() -> None:
    for user in ({"script": "script"}, {"prompt": "customer@main", "model": "m", "stop": "bye"}):
        flow = Flow.from_dict(chat(user=user))
        check_flow(flow, KNOWN)
        assert Flow.from_dict(flow.to_dict()) == flow


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"max_turns": None}, "unbounded-conversation"),
        ({"max_turns": 21}, "unbounded-conversation"),
        ({"user": {"script": "script", "prompt": "customer"}}, "invalid-step"),
        ({"user": {}}, "invalid-step"),
        ({"user": {"script": "script", "stop": "x"}}, "invalid-step"),
        ({"user": {"prompt": "customer", "shell": "rm"}}, "invalid-step"),
        ({"user": {"script": "nobody"}}, "unknown-variable"),
        ({"prompt": "missing"}, "unknown-prompt"),
        ({"user": {"prompt": "missing"}}, "unknown-prompt"),
        ({"user": {"prompt": "customer", "inputs": {"mood": "nobody"}}}, "unknown-variable"),
    ],
)
def test_a_bad_conversation_is_refused_naming_its_step(
    changes: dict[str, Any], reason: str
) -> None:
    data = chat(**changes)
    if changes.get("max_turns", 0) is None:
        del data["steps"][0]["max_turns"]
    assert refused(data) == (reason, "chat")


def test_a_script_written_as_text_is_a_type_error() -> None:
    data = chat()
    data["steps"].insert(
        0, {"name": "script_gen", "kind": "llm", "prompt": "ask", "output": "script"}
    )
    data["inputs"].remove("script")
    assert refused(data) == ("flow-type-error", "chat")


def ask(**changes: Any) -> dict[str, Any]:
    step = {"name": "ask", "kind": "llm", "prompt": "ask", "tools": ["lookup"]}
    step.update(changes)
    return {"inputs": ["q"], "output": "ask", "steps": [step]}


def test_an_llm_step_offers_only_registered_tools_in_bounded_rounds() -> None:
    flow = Flow.from_dict(ask(max_tool_rounds=2, timeout_s=1.5))
    check_flow(flow, KNOWN)
    assert Flow.from_dict(flow.to_dict()) == flow
    assert refused(ask(tools=["shell"])) == ("unknown-tool", "ask")
    for bad in (
        {"max_tool_rounds": 0},
        {"max_tool_rounds": 11},
        {"tools": "lookup"},
        {"timeout_s": 0},
    ):
        assert refused(ask(**bad)) == ("invalid-step", "ask")


def test_a_case_history_is_validated_and_part_of_its_id() -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    with_history = TestCase(variables={"q": 1}, messages=history)
    assert with_history.id != TestCase(variables={"q": 1}).id
    assert TestCase(variables={"q": 1}, messages=history).id == with_history.id
    assert with_history.to_dict()["messages"] == history
    assert "messages" not in TestCase(variables={"q": 1}).to_dict()
    for bad in (
        [{"role": "tool", "content": "x"}],
        [{"role": "user"}],
        "hi",
        [{"role": "user", "content": 3}],
        [{"role": "user", "content": "x", "n": 1}],
        [{"role": "user", "content": "x"}] * 201,
    ):
        with pytest.raises(ValidationError):
            TestCase(variables={"q": 1}, messages=bad)


def test_the_history_goes_after_the_system_messages_and_before_the_rest() -> None:
    template = Template.from_messages(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U {{ x }}"}]
    )
    sent = template.render({"x": 1}).with_history(
        [{"role": "user", "content": "h1"}, {"role": "assistant", "content": "h2"}]
    )
    assert [m["content"] for m in sent] == ["S", "h1", "h2", "U 1"]


def test_a_history_survives_a_jsonl_round_trip_and_csv_refuses_it() -> None:
    from domain.datasets import parse_jsonl, to_csv, to_jsonl

    case = TestCase(variables={"q": 1}, messages=[{"role": "user", "content": "hi"}])
    (again,) = parse_jsonl(to_jsonl([case])).cases
    assert again == case and again.messages == case.messages
    with pytest.raises(ValidationError) as caught:
        to_csv([case])
    assert caught.value.details["reason"] == "not-csv"
