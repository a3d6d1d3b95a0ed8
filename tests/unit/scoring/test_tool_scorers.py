"""The tool-call scorers: valid calls against offered schemas, F1 against expected calls,
called / not called, and trajectories; user schemas stay bounded and closed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.errors import ValidationError
from domain.llm import ToolCall
from domain.scoring import ScoreContext, build_scorer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {"type": "function", "function": {"name": "search"}}  # no parameters schema
TOOLS = (WEATHER, SEARCH)


def call(name: str, arguments: Any, id_: str = "c") -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall.of(id_, name, raw)


def ctx(*calls: ToolCall, tools: tuple[Any, ...] = TOOLS, **metadata: Any) -> ScoreContext:
    return ScoreContext(output="", tool_calls=calls, tools=tools, metadata=metadata)


def valid(**args: Any) -> Any:
    return build_scorer({"type": "is-valid-openai-tools-call", "args": args})


# is-valid-openai-tools-call


def test_a_call_matching_its_schema_is_valid() -> None:
    score = valid().score(ctx(call("get_weather", {"city": "Paris", "unit": "celsius"})))
    assert (score.value, score.passed) == (1.0, True)
    assert "1 tool call(s) valid" in score.reason


def test_a_tool_without_parameters_takes_any_object() -> None:
    assert valid().score(ctx(call("search", {"q": "x"}))).passed
    assert not valid().score(ctx(call("search", "[1]"))).passed


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        ({"unit": "celsius"}, "'city' is a required property"),
        ({"city": 3}, "3 is not of type 'string'"),
        ({"city": ""}, "should be non-empty"),
        ({"city": "Paris", "unit": "kelvin"}, "'kelvin' is not one of"),
        ({"city": "Paris", "extra": 1}, "Additional properties are not allowed"),
        ('{"city": "Paris"', "not valid JSON"),
        ('{"city": NaN}', "not valid JSON"),
        ("", "not valid JSON"),
        ("[" * 5000 + "]" * 5000, "nest too deeply"),
    ],
)
def test_malformed_or_schema_breaking_arguments_fail_with_the_reason(
    arguments: Any, why: str
) -> None:
    score = valid().score(ctx(call("get_weather", arguments)))
    assert (score.value, score.passed) == (0.0, False)
    assert why in score.reason


def test_a_call_of_an_undeclared_tool_fails_and_the_value_is_the_valid_share() -> None:
    score = valid().score(ctx(call("get_weather", {"city": "Oslo"}), call("delete_everything", {})))
    assert score.value == 0.5 and not score.passed
    assert "'delete_everything' names no offered tool (get_weather, search)" in score.reason


def test_no_call_scores_zero_and_no_tools_offered_cannot_be_judged() -> None:
    assert valid().score(ctx()).reason == "the answer holds no tool call"
    assert valid().score(ctx(call("x", {}), tools=())).reason.startswith("no tools were offered")


def test_a_cells_tools_with_a_remote_ref_are_refused_never_fetched() -> None:
    remote = {
        "type": "function",
        "function": {"name": "f", "parameters": {"$ref": "http://127.0.0.1:9/schema.json"}},
    }
    score = valid().score(ctx(call("f", {}), tools=(remote,)))
    assert not score.passed
    assert "points outside the schema" in score.reason


@pytest.mark.parametrize("ref", ["https://example.com/s.json", "file:///etc/passwd", "other.json"])
def test_a_tools_argument_with_a_remote_ref_is_refused_when_built(ref: str) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"$ref": ref}}}
    with pytest.raises(ValidationError, match="points outside the schema"):
        valid(tools=[tool])


def test_the_tools_argument_overrides_the_cells_tools() -> None:
    scorer = valid(tools=[SEARCH])
    assert not scorer.score(ctx(call("get_weather", {"city": "Oslo"}))).passed
    assert scorer.score(ctx(call("search", {}), tools=())).passed


def test_invalid_and_oversized_schemas_are_refused() -> None:
    bad = {"type": "function", "function": {"name": "f", "parameters": {"type": "nope"}}}
    assert "invalid schema" in valid().score(ctx(call("f", {}), tools=(bad,))).reason
    big = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    huge = {"type": "function", "function": {"name": "f", "parameters": big}}
    assert "over 64000 characters" in valid().score(ctx(call("f", {}), tools=(huge,))).reason
    twice = (SEARCH, SEARCH)
    refused = valid().score(ctx(call("search", {}), tools=twice))
    assert "two tools are named 'search'" in refused.reason


def test_an_exponential_schema_stops_after_its_step_budget() -> None:
    defs = {
        f"l{i}": {"anyOf": [{"$ref": f"#/$defs/l{i + 1}"}, {"$ref": f"#/$defs/l{i + 1}"}]}
        for i in range(40)
    }
    defs["l40"] = {"type": "string"}
    schema = {"$defs": defs, "type": "object", "properties": {"a": {"$ref": "#/$defs/l0"}}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    score = valid().score(ctx(call("f", {"a": 1}), tools=(tool,)))
    assert not score.passed and "too many steps" in score.reason


def test_a_self_referencing_schema_fails_instead_of_recursing_forever() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"$ref": "#"}}}
    score = valid().score(ctx(call("f", {}), tools=(tool,)))
    assert not score.passed and "recurse" in score.reason


def test_the_valid_tools_scorer_refuses_a_bad_tools_argument() -> None:
    with pytest.raises(ValidationError, match="non-empty list"):
        valid(tools={"name": "f"})
    with pytest.raises(ValidationError, match="unknown argument"):
        valid(tool=[SEARCH])


# tool-call-f1


def f1(**args: Any) -> Any:
    return build_scorer({"type": "tool-call-f1", "args": args})


def test_f1_is_one_for_exactly_the_expected_calls_in_any_order() -> None:
    calls = (call("search", {"q": "a"}), call("get_weather", {"city": "Rome"}))
    score = f1(expected=["get_weather", "search"]).score(ctx(*calls))
    assert (score.value, score.passed) == (1.0, True)


def test_f1_counts_precision_and_recall() -> None:
    calls = (call("search", {}), call("search", {}), call("get_weather", {"city": "Rome"}))
    score = f1(expected=["search", "book_flight"]).score(ctx(*calls))
    # 1 hit: precision 1/3, recall 1/2, F1 0.4
    assert score.value == pytest.approx(0.4) and not score.passed
    assert "precision 0.333, recall 0.5" in score.reason


def test_f1_matches_arguments_when_the_expected_call_gives_them() -> None:
    scorer = f1(expected=[{"name": "get_weather", "arguments": {"city": "Rome"}}])
    assert scorer.score(ctx(call("get_weather", {"city": "Rome"}))).value == 1.0
    assert scorer.score(ctx(call("get_weather", {"city": "Oslo"}))).value == 0.0
    assert scorer.score(ctx(call("get_weather", '{"city": "Rome"'))).value == 0.0  # malformed


def test_f1_argument_equality_is_json_equality() -> None:
    one = f1(expected=[{"name": "n", "arguments": {"k": 1}}])
    assert one.score(ctx(call("n", {"k": 1.0}))).value == 1.0
    assert one.score(ctx(call("n", {"k": True}))).value == 0.0
    assert one.score(ctx(call("n", {"k": 1, "extra": 2}))).value == 0.0


def test_f1_gives_specific_expectations_their_call_first() -> None:
    expected = ["get_weather", {"name": "get_weather", "arguments": {"city": "Rome"}}]
    calls = (call("get_weather", {"city": "Rome"}), call("get_weather", {"city": "Oslo"}))
    assert f1(expected=expected).score(ctx(*calls)).value == 1.0


def test_f1_reads_expected_calls_from_the_case_metadata() -> None:
    scorer = f1()
    assert scorer.score(ctx(call("search", {}), expected_tool_calls=["search"])).passed
    assert scorer.score(ctx(expected_tool_calls=[])).reason == "no tool call expected and none made"
    assert scorer.score(ctx(call("search", {}), expected_tool_calls=[])).value == 0.0
    assert "no 'expected' argument" in scorer.score(ctx(call("search", {}))).reason
    assert "neither a tool name" in scorer.score(ctx(expected_tool_calls=[3])).reason


def test_f1_threshold_and_bad_arguments() -> None:
    scorer = f1(expected=["a", "b"], threshold=0.6)
    assert scorer.score(ctx(call("a", {}))).passed  # F1 2/3
    with pytest.raises(ValidationError, match="neither a tool name"):
        f1(expected=[{"arguments": {}}])
    with pytest.raises(ValidationError, match="only name and arguments"):
        f1(expected=[{"name": "a", "args": {}}])
    comma = f1(expected="a, b")  # promptfoo's comma-separated names
    assert comma.score(ctx(call("b", {}), call("a", {}))).value == 1.0


# tool-called / tool-not-called


def test_tool_called_and_not_called_with_and_without_a_name() -> None:
    made = ctx(call("search", {}))
    none = ctx()
    called = build_scorer({"type": "tool-called"})
    weather = build_scorer({"type": "tool-called", "args": {"name": "get_weather"}})
    not_called = build_scorer({"type": "tool-not-called"})
    no_weather = build_scorer({"type": "tool-not-called", "args": {"name": "get_weather"}})
    assert called.score(made).passed and not called.score(none).passed
    assert not weather.score(made).passed
    assert weather.score(made).reason == "tool 'get_weather' was not called: [search]"
    assert not not_called.score(made).passed and not_called.score(none).passed
    assert no_weather.score(made).passed
    with pytest.raises(ValidationError, match="must not be empty"):
        build_scorer({"type": "tool-called", "args": {"name": ""}})


def test_tool_called_can_be_negated() -> None:
    negated = build_scorer({"type": "tool-called", "negate": True})
    assert negated.score(ctx()).passed and not negated.score(ctx(call("s", {}))).passed


# tool-trajectory


def trajectory(**args: Any) -> Any:
    return build_scorer({"type": "tool-trajectory", "args": args})


def test_in_order_trajectory_allows_other_calls_between() -> None:
    calls = tuple(call(n, {}) for n in ("search", "get_weather", "search", "book"))
    assert trajectory(expected=["search", "book"]).score(ctx(*calls)).passed
    wrong = trajectory(expected=["book", "search"]).score(ctx(*calls))
    assert not wrong.passed
    assert "'search' is missing" in wrong.reason


def test_exact_trajectory_needs_exactly_the_names_in_order() -> None:
    calls = (call("search", {}), call("book", {}))
    assert trajectory(expected=["search", "book"], mode="exact").score(ctx(*calls)).passed
    assert not trajectory(expected=["book", "search"], mode="exact").score(ctx(*calls)).passed
    assert not trajectory(expected=["search"], mode="exact").score(ctx(*calls)).passed


def test_trajectory_from_metadata_and_bad_arguments() -> None:
    calls = (call("a", {}), call("b", {}))
    assert trajectory().score(ctx(*calls, expected_tool_trajectory=["a", "b"])).passed
    assert "no 'expected' argument" in trajectory().score(ctx(*calls)).reason
    with pytest.raises(ValidationError, match="exact or in-order|one of exact, in-order"):
        trajectory(expected=["a"], mode="fuzzy")
    with pytest.raises(ValidationError, match="list of tool names"):
        trajectory(expected="a")
