"""The reflection request and reply format: render, read back, bounds and tolerance."""

from __future__ import annotations

import pytest

from domain.optimization import reflection
from domain.optimization.strategy import CaseEvidence, Content

CONTENT = Content("You are a helpful assistant.", "What is {{a}} + {{b}}?")


def case(i: int, output: str | None = "Sure! The answer is 5.", **kw: object) -> CaseEvidence:
    fields: dict[str, object] = {
        "case_id": f"c{i}",
        "variables": {"a": 2, "b": 3},
        "expected": "5",
        "output": output,
        "score": 0.0,
        "passed": False,
        "reasons": {"equals": "output differs from expected"},
    }
    fields.update(kw)
    return CaseEvidence(**fields)  # type: ignore[arg-type]


def test_request_has_the_fixed_headings_in_order() -> None:
    messages = reflection.request(CONTENT, [case(1)])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "<system>" in messages[0]["content"] and "<rationale>" in messages[0]["content"]
    text = messages[1]["content"]
    headings = [reflection.TITLE, reflection.SYSTEM, reflection.TEMPLATE, reflection.FAILING]
    headings += ["### Example 1 (case c1)", reflection.INPUTS, reflection.OUTPUT]
    headings += [reflection.EXPECTED, reflection.SCORE, reflection.REASONS]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "- `a`: 2" in text and "- equals: output differs from expected" in text


def test_a_request_reads_back_exactly() -> None:
    tricky = "```python\nprint(1)\n```\n## not a heading\n### Example 9"
    evidence = [case(1), case(2, output=tricky, expected="x\n```\ny", score=0.25)]
    parsed = reflection.parse_request(reflection.render(CONTENT, evidence))
    assert parsed is not None
    assert (parsed.system, parsed.template) == (CONTENT.system, CONTENT.template)
    assert [e.case_id for e in parsed.examples] == ["c1", "c2"]
    second = parsed.examples[1]
    assert second.output == tricky and second.expected == "x\n```\ny" and second.score == 0.25
    assert second.inputs == {"a": "2", "b": "3"}
    assert second.reasons == {"equals": "output differs from expected"}


def test_empty_system_errors_and_missing_expected_read_back() -> None:
    evidence = [case(1, output=None, error="timeout", expected=None, reasons={})]
    text = reflection.render(Content("", "{{q}}"), evidence)
    parsed = reflection.parse_request(text)
    assert parsed is not None and parsed.system == "" and parsed.template == "{{q}}"
    assert "(error: timeout)" in text and "- error: timeout" in text
    assert parsed.examples[0].expected is None


def test_the_request_is_bounded() -> None:
    huge = "y" * 50_000
    evidence = [case(i, output=huge) for i in range(30)]
    text = reflection.render(Content(huge, "{{q}}"), evidence)
    assert len(text) <= reflection.MAX_REQUEST_CHARS
    assert text.count("### Example") <= reflection.MAX_EXAMPLES
    assert "(truncated)" in text
    few = reflection.render(CONTENT, [case(i) for i in range(30)], max_examples=3)
    assert few.count("### Example") == 3


def test_failing_keeps_failed_errored_and_partial_cases() -> None:
    evidence = [
        case(1),
        case(2, passed=True, score=1.0),
        case(3, passed=None, score=0.5),
        case(4, passed=None, score=1.0),
        case(5, output=None, passed=None, error="boom"),
    ]
    assert [e.case_id for e in reflection.failing(evidence)] == ["c1", "c3", "c5"]


def test_parse_reply_reads_the_tags() -> None:
    reply = "Thinking...\n<system>\nBe brief.\n</system>\n<rationale>chatter</rationale>"
    parsed = reflection.parse_reply(reply)
    assert parsed == reflection.Reply("Be brief.", None, "chatter")
    both = reflection.parse_reply("<SYSTEM></SYSTEM><template>Q: {{q}}</template>")
    assert both == reflection.Reply("", "Q: {{q}}", "")


@pytest.mark.parametrize(
    "reply",
    [
        None,
        "",
        "no tags at all",
        "<rationale>only a rationale</rationale>",
        "<system>never closed",
        "<system>" + "x" * (reflection.MAX_PROMPT_CHARS + 1) + "</system>",
        12,
    ],
)
def test_parse_reply_is_tolerant(reply: object) -> None:
    assert reflection.parse_reply(reply) is None  # type: ignore[arg-type]


def test_parse_request_refuses_other_text() -> None:
    assert reflection.parse_request("hello") is None
