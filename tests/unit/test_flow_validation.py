"""Flows as data: parsing, cross-step checks (each error names its step), codec and diff."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.errors import NotFoundError, ValidationError
from domain.flows import (
    Flow,
    Known,
    check_flow,
    flow_changes,
    from_template,
    holds,
    is_flow_template,
    parse_output,
    to_template,
)
from domain.flows.spec import Predicate
from domain.prompts import Template

THREE_STEPS: dict[str, Any] = {
    "inputs": ["question"],
    "output": "answer",
    "steps": [
        {"name": "classify", "kind": "llm", "prompt": "classifier@production", "parse": "json"},
        {
            "name": "route",
            "kind": "condition",
            "when": {"var": "classify.label", "equals": "billing"},
            "then": "billing",
            "otherwise": "general",
        },
        {
            "name": "billing",
            "kind": "llm",
            "prompt": "billing@main",
            "output": "answer",
            "next": "end",
        },
        {
            "name": "general",
            "kind": "transform",
            "template": "Q: {{ question }}",
            "output": "answer",
        },
    ],
}


def flow_of(data: dict[str, Any]) -> Flow:
    return Flow.from_dict(data)


def test_a_valid_three_step_flow_passes_and_round_trips() -> None:
    flow = flow_of(THREE_STEPS)
    check_flow(flow)
    again = Flow.from_dict(flow.to_dict())
    assert again == flow
    assert [s.kind for s in flow.steps] == ["llm", "condition", "llm", "transform"]


def test_the_template_codec_round_trips_and_marks_flows() -> None:
    flow = flow_of(THREE_STEPS)
    template = to_template(flow)
    assert is_flow_template(template)
    assert from_template(template) == flow
    assert not is_flow_template(Template.from_text("Hi {{ name }}"))
    with pytest.raises(ValidationError) as err:
        from_template(Template.from_text("Hi {{ name }}"))
    assert err.value.details["reason"] == "not-a-flow"


def with_step(index: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(THREE_STEPS)
    data["steps"][index].update(changes)
    return data


def add_step(step: dict[str, Any], at: int | None = None) -> dict[str, Any]:
    data = copy.deepcopy(THREE_STEPS)
    data["steps"].insert(len(data["steps"]) if at is None else at, step)
    return data


INVALID = [
    # (id, flow, reason, step)
    ("unknown kind", with_step(0, kind="shell"), "invalid-step", "classify"),
    ("field of another kind", with_step(0, template="x"), "invalid-step", "classify"),
    ("llm without prompt", with_step(0, prompt=""), "invalid-step", "classify"),
    ("bad parse", with_step(0, parse="yaml"), "invalid-step", "classify"),
    (
        "duplicate name",
        add_step({"name": "route", "kind": "transform", "template": "x"}, 0),
        "duplicate-step",
        "route",
    ),
    ("jump to unknown", with_step(1, then="nowhere"), "unknown-step", "route"),
    ("jump backwards is a cycle", with_step(3, next="classify"), "flow-cycle", "general"),
    ("self jump", with_step(3, next="general"), "flow-cycle", "general"),
    ("field of text", with_step(0, parse="text"), "flow-type-error", "route"),
    (
        "unknown variable in template",
        with_step(3, template="{{ nope }}"),
        "unknown-variable",
        "general",
    ),
    (
        "variable only on one branch",
        with_step(3, template="{{ answer }}", output="reply"),
        "unknown-variable",
        "general",
    ),
    (
        "loop without bound",
        add_step(
            {
                "name": "again",
                "kind": "loop",
                "body": [{"name": "step", "kind": "transform", "template": "{{ question }}"}],
            },
            0,
        ),
        "unbounded-loop",
        "again",
    ),
    (
        "loop bound too high",
        add_step(
            {
                "name": "again",
                "kind": "loop",
                "max_iterations": 10_000,
                "body": [{"name": "step", "kind": "transform", "template": "{{ question }}"}],
            },
            0,
        ),
        "unbounded-loop",
        "again",
    ),
    (
        "map without bound",
        add_step(
            {
                "name": "each",
                "kind": "map",
                "over": "question",
                "body": [{"name": "one", "kind": "transform", "template": "{{ item }}"}],
            },
            0,
        ),
        "unbounded-map",
        "each",
    ),
    (
        "map over text",
        add_step(
            {
                "name": "each",
                "kind": "map",
                "over": "general_text",
                "max_items": 3,
                "body": [{"name": "one", "kind": "transform", "template": "{{ item }}"}],
            }
        ),
        "unknown-variable",
        "each",
    ),
    (
        "at_least on text",
        add_step(
            {
                "name": "long",
                "kind": "condition",
                "then": "end",
                "when": {"var": "general", "at_least": 3},
            },
            4,
        ),
        "unknown-variable",
        "long",
    ),
    ("condition without targets", with_step(1, then=None, otherwise=None), "invalid-step", "route"),
    (
        "two tests",
        with_step(1, when={"var": "classify", "equals": 1, "contains": "x"}),
        "invalid-step",
        "route",
    ),
    (
        "tool timeout too long",
        add_step({"name": "look", "kind": "tool", "tool": "search", "timeout_s": 3600}, 0),
        "invalid-step",
        "look",
    ),
    (
        "tool input unknown",
        add_step({"name": "look", "kind": "tool", "tool": "search", "inputs": {"q": "missing"}}, 0),
        "unknown-variable",
        "look",
    ),
    ("bad step name", with_step(0, name="has space"), "invalid-step", "has space"),
    ("step named end", with_step(3, name="end"), "invalid-step", "end"),
    (
        "scorer without at_least",
        with_step(1, when={"var": "classify", "equals": 1, "scorer": {"type": "is-json"}}),
        "flow-type-error",
        "route",
    ),
    (
        "unknown scorer",
        with_step(1, when={"var": "classify", "at_least": 1, "scorer": {"type": "no-such"}}),
        "invalid-step",
        "route",
    ),
]


@pytest.mark.parametrize(
    ("flow", "reason", "step"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_flows_are_refused_with_the_step_named(
    flow: dict[str, Any], reason: str, step: str
) -> None:
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(flow))
    assert err.value.details["reason"] == reason
    assert err.value.details["step"] == step
    assert repr(step) in err.value.message or step in err.value.message


def test_map_over_a_text_value_is_a_type_error() -> None:
    data = add_step(
        {
            "name": "each",
            "kind": "map",
            "over": "general",
            "max_items": 3,
            "body": [{"name": "one", "kind": "transform", "template": "{{ item }}"}],
        },
        4,
    )
    data["steps"][3]["output"] = "general"
    data["steps"][2]["output"] = "general"
    data["output"] = "general"
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(data))
    assert (err.value.details["reason"], err.value.details["step"]) == ("flow-type-error", "each")


def test_the_flow_output_must_be_written_on_every_path() -> None:
    data = with_step(3, output="other")
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(data))
    assert err.value.details["reason"] == "unknown-variable"
    assert "answer" in err.value.message


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "invalid-flow"),
        ({"steps": [], "output": "x"}, "invalid-flow"),
        ({"steps": [{"name": "a", "kind": "transform", "template": "x"}]}, "invalid-flow"),
        (
            {
                "steps": [{"name": "a", "kind": "transform", "template": "x"}],
                "output": "a",
                "code": "import os",
            },
            "invalid-flow",
        ),
        ({"steps": ["a"], "output": "a"}, "invalid-step"),
    ],
)
def test_malformed_flows_are_refused(data: Any, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        Flow.from_dict(data)
    assert err.value.details["reason"] == reason


def test_known_tools_and_prompts_are_checked_when_given() -> None:
    data = add_step(
        {"name": "look", "kind": "tool", "tool": "search", "inputs": {"q": "question"}}, 0
    )
    flow = Flow.from_dict(data)
    with pytest.raises(ValidationError) as err:
        check_flow(flow, Known(tools={"other"}))
    assert (err.value.details["reason"], err.value.details["step"]) == ("unknown-tool", "look")
    check_flow(flow, Known(tools={"search"}))

    def variables(name: str, ref: str) -> list[str]:
        if name == "billing":
            raise NotFoundError(f"no prompt {name}", reason="unknown-prompt")
        return ["question"]

    with pytest.raises(ValidationError) as err:
        check_flow(flow, Known(prompt_variables=variables))
    assert (err.value.details["reason"], err.value.details["step"]) == ("unknown-prompt", "billing")

    def needs_context(name: str, ref: str) -> list[str]:
        return ["context"] if name == "billing" else ["question"]

    with pytest.raises(ValidationError) as err:
        check_flow(flow, Known(prompt_variables=needs_context))
    found = (err.value.details["reason"], err.value.details["step"])
    assert found == ("unknown-variable", "billing")


def test_loop_and_map_bodies_are_checked_and_their_outputs_typed() -> None:
    data = {
        "inputs": ["items"],
        "output": "joined",
        "steps": [
            {
                "name": "each",
                "kind": "map",
                "over": "items",
                "max_items": 5,
                "body": [{"name": "one", "kind": "transform", "template": "<{{ item }}>"}],
            },
            {
                "name": "refine",
                "kind": "loop",
                "max_iterations": 3,
                "when": {"var": "draft", "contains": "ok"},
                "body": [{"name": "draft", "kind": "transform", "template": "{{ each }} ok"}],
            },
            {"name": "joined", "kind": "transform", "template": "{{ refine }}"},
        ],
    }
    check_flow(Flow.from_dict(data))
    data["steps"][1]["when"] = {"var": "nothing", "contains": "ok"}
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(data))
    assert err.value.details["step"] == "refine"


def test_flow_changes_name_steps() -> None:
    old = Flow.from_dict(THREE_STEPS)
    new = Flow.from_dict(add_step({"name": "extra", "kind": "transform", "template": "x"}))
    assert flow_changes(old, new) == ("+steps.extra",)
    changed = Flow.from_dict(with_step(3, template="Question: {{ question }}"))
    assert flow_changes(old, changed) == ("steps.general",)
    assert flow_changes(changed, old) == ("steps.general",)


def test_values_parse_and_test() -> None:
    assert parse_output('```json\n{"label": "billing"}\n```', "json") == {"label": "billing"}
    with pytest.raises(ValidationError):
        parse_output("not json", "json")
    variables = {"c": {"label": "billing", "n": 3}, "t": " yes "}
    assert holds(Predicate(var="c.label", equals="billing"), variables)
    assert holds(Predicate(var="t", equals="yes"), variables)
    assert holds(Predicate(var="c.n", at_least=3.0), variables)
    assert not holds(Predicate(var="c.n", at_least=4.0), variables)
    assert holds(Predicate(var="t", one_of=("no", "yes")), variables)
    assert holds(Predicate(var="t", contains="es"), variables)
    assert holds(
        Predicate(var="t", at_least=1.0, scorer={"type": "x"}), variables, lambda spec, value: 1.0
    )


@pytest.mark.parametrize(
    ("scorers", "fragment"),
    [
        ([{"type": "llm-judge", "args": {"model": "m", "rubric": "r"}}], "pure scorers only"),
        ([{"type": "no-such-scorer"}], "no-such-scorer"),
        ([{"type": "icontains"}, {"type": "icontains"}], "two scorers are named"),
        ("icontains", "list of scorer specs"),
    ],
)
def test_a_steps_own_scorers_must_be_pure_and_valid(scorers: Any, fragment: str) -> None:
    data = with_step(0, scorers=scorers)
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(data))
    assert (err.value.details["reason"], err.value.details["step"]) == ("invalid-step", "classify")
    assert fragment in err.value.message


def test_the_step_report_is_recomputed_from_traces() -> None:
    from types import SimpleNamespace

    from domain.flows import step_report

    def cell(version: str, latency: float, error: str | None, score: float) -> Any:
        trace = [
            {
                "step": "classify",
                "kind": "llm",
                "latency_ms": latency,
                "prompt_tokens": 3,
                "completion_tokens": 1,
                "cost_usd": 0.5,
                "scores": {"label": score},
                **({"error": error} if error else {}),
            },
            {"step": "route", "kind": "condition", "wall_ms": 0.01},
        ]
        return SimpleNamespace(prompt_version=version, model="m", trace=trace)

    cells = [
        cell("v1", 10, None, 1.0),
        cell("v1", 30, "boom", 0.0),
        cell("v1", 20, None, 1.0),
        cell("v2", 5, None, 0.0),
        SimpleNamespace(prompt_version="v1", model="m", trace=None),
    ]
    summaries = {(s.prompt_version, s.step): s for s in step_report(cells)}
    first = summaries[("v1", "classify")]
    assert (first.runs, first.errors, first.prompt_tokens, first.cost_usd) == (3, 1, 9, 1.5)
    assert first.error_rate == pytest.approx(1 / 3)
    assert (first.latency_p50_ms, first.latency_p95_ms) == (20.0, pytest.approx(29.0))
    assert first.mean_scores == {"label": pytest.approx(2 / 3)}
    assert summaries[("v1", "route")].latency_p50_ms == 0.01
    assert summaries[("v2", "classify")].pass_rate == 0.0
    assert summaries[("v1", "route")].pass_rate is None


def test_nested_bounds_that_multiply_past_the_limit_are_refused() -> None:
    inner = {
        "name": "inner",
        "kind": "map",
        "over": "item",
        "max_items": 100,
        "body": [{"name": "one", "kind": "transform", "template": "{{ item }}"}],
    }
    outer = {"name": "outer", "kind": "map", "over": "items", "max_items": 100, "body": [inner]}
    data = {"inputs": ["items"], "output": "outer", "steps": [outer]}
    with pytest.raises(ValidationError) as err:
        check_flow(Flow.from_dict(data))
    assert (err.value.details["reason"], err.value.details["step"]) == ("unbounded-map", "outer")
    assert "10,101 steps per case" in err.value.message
    outer["max_items"] = 5
    check_flow(Flow.from_dict(data))
