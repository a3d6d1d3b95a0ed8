"""Tool calls as plain data: parsed or not, through the result row's stream payload, the
response cache entry and pickling (they cross Ray and Redis)."""

from __future__ import annotations

import json
import pickle

import pytest

from domain.evaluation.rows import ResultRow
from domain.llm import ToolCall, parse_arguments
from domain.llm.tool_calls import MAX_ARGUMENTS_CHARS
from engine.llm.provider import tool_calls_of
from engine.llm.types import CompletionResult

GOOD = ToolCall.of("call_1", "get_weather", '{"city": "Paris", "days": 2}')
BAD = ToolCall.of("call_2", "get_weather", '{"city": ')


@pytest.mark.parametrize(
    ("raw", "value", "error"),
    [
        ('{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}, None),
        ("  [] ", [], None),
        ('{"a": NaN}', None, "not valid JSON"),
        ("{'a': 1}", None, "not valid JSON"),
        ("", None, "not valid JSON"),
        ("[" * 100_000, None, "nest too deeply"),
        (" " * (MAX_ARGUMENTS_CHARS + 1), None, "were not parsed"),
    ],
)
def test_arguments_parse_strictly_or_say_why_not(
    raw: str, value: object, error: str | None
) -> None:
    parsed, why = parse_arguments(raw)
    assert parsed == value
    assert (why is None) if error is None else (error in str(why))


def test_a_call_keeps_its_raw_arguments_and_objects_become_their_json() -> None:
    assert GOOD.parsed == {"city": "Paris", "days": 2} and GOOD.ok
    assert BAD.arguments == '{"city": ' and BAD.parsed is None and not BAD.ok
    decoded = ToolCall.of(None, "f", {"x": 1})  # some providers send an object
    assert decoded.arguments == '{"x": 1}' and decoded.parsed == {"x": 1} and decoded.id == ""


def test_wire_tool_calls_from_dicts_and_from_objects() -> None:
    class Function:
        name = "get_weather"
        arguments = '{"city": "Paris", "days": 2}'

    class Item:
        id = "call_1"
        function = Function()

    wire = [{"id": "call_2", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": '}}]  # fmt: skip
    assert tool_calls_of(wire) == (BAD,)
    assert tool_calls_of([Item()]) == (GOOD,)
    assert tool_calls_of(None) == () == tool_calls_of([])


def test_a_row_carries_its_calls_through_the_stream_payload() -> None:
    row = ResultRow(
        run_id="r", prompt_version="v", model="m", case_id="c",
        output="", finish_reason="tool_calls", tool_calls=(GOOD, BAD),
    )  # fmt: skip
    payload = json.loads(json.dumps(row.to_dict()))
    assert payload["tool_calls"][1] == {
        "id": "call_2", "name": "get_weather", "arguments": '{"city": ',
        "parsed": None, "parse_error": BAD.parse_error,
    }  # fmt: skip
    back = ResultRow.from_dict(payload)
    assert back == row and back.tool_calls == (GOOD, BAD)
    assert ResultRow.from_dict({**payload, "tool_calls": None}).tool_calls == ()
    with pytest.raises(ValueError, match="malformed field"):
        ResultRow.from_dict({**payload, "tool_calls": [{"name": 3}]})
    assert pickle.loads(pickle.dumps(row)) == row


def test_the_cache_entry_keeps_the_calls_and_an_old_entry_has_none() -> None:
    result = CompletionResult(
        call_id="x", model="m", model_used="m", finish_reason="tool_calls", tool_calls=(GOOD, BAD)
    )
    entry = json.loads(json.dumps(result.to_cache()))
    hit = CompletionResult.from_cache(entry, "y", "m", 1.0)
    assert hit.tool_calls == (GOOD, BAD) and hit.cached and hit.finish_reason == "tool_calls"
    del entry["tool_calls"]
    assert CompletionResult.from_cache(entry, "y", "m", 1.0).tool_calls == ()
    assert "tool_calls" not in CompletionResult(call_id="x", model="m").to_cache()
