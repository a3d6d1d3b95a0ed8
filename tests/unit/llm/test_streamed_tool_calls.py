"""A streamed answer's tool calls put back together from their pieces, as providers send
them: the id and name once, the arguments' JSON split over chunks, calls interleaved."""

from __future__ import annotations

from types import SimpleNamespace

from engine.llm.openai_http import ToolCallParts, _Streamed


def test_pieces_of_interleaved_calls_make_the_whole_calls() -> None:
    parts = ToolCallParts()
    parts.take([{"index": 0, "id": "call_a", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"ci'}}])  # fmt: skip
    parts.take([{"index": 1, "id": "call_b", "function": {"name": "place_", "arguments": ""}}])
    parts.take([{"index": 0, "function": {"arguments": 'ty": "Lyon"}'}},
                {"index": 1, "function": {"name": "order", "arguments": "{}"}}])  # fmt: skip
    parts.take(None)
    assert parts.whole() == [
        {"id": "call_a", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}},
        {"id": "call_b", "type": "function",
         "function": {"name": "place_order", "arguments": "{}"}},
    ]  # fmt: skip


def test_litellm_style_objects_are_read_like_dicts() -> None:
    parts = ToolCallParts()
    first = SimpleNamespace(index=0, id="c1", type="function",
                            function=SimpleNamespace(name="f", arguments='{"a"'))  # fmt: skip
    rest = SimpleNamespace(index=0, id=None, type=None,
                           function=SimpleNamespace(name=None, arguments=": 1}"))  # fmt: skip
    parts.take([first])
    parts.take([rest])
    assert parts.whole()[0]["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert parts.whole()[0]["id"] == "c1"


def test_a_streamed_answer_without_tool_calls_has_none() -> None:
    streamed = _Streamed()
    streamed.take(b'{"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}')
    assert "tool_calls" not in streamed.whole()["choices"][0]["message"]
