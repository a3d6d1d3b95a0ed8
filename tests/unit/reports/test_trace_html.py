"""The HTML report's flow traces: each traced cell's steps, failed cells first, user text
escaped, the number of cells shown bounded."""

from __future__ import annotations

from typing import Any

from domain.reports import ResultRecord, summarize
from engine.reports import to_html

EVIL = "<script>alert('x')</script>"


def cell(case_id: str, passed: bool | None, **fields: Any) -> ResultRecord:
    trace = (
        {
            "step": "classify",
            "kind": "llm",
            "path": "classify",
            "inputs": {"question": EVIL},
            "output": f"billing {case_id}",
            "latency_ms": 12.5,
            "prompt_tokens": 30,
            "completion_tokens": 4,
            "cost_usd": 0.00012,
            "wall_ms": 13.0,
        },
        {
            "step": "answer.tool",
            "kind": "tool",
            "path": "answer[0].lookup",
            "output": EVIL,
            "latency_ms": 1.0,
            "error": f"tool failed: {EVIL}",
        },
    )
    values: dict[str, Any] = {
        "run_id": "r",
        "prompt_version": "v1" * 10,
        "model": "sim",
        "output": "x",
        "trace": trace,
    }
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def test_each_traced_cell_shows_its_steps_with_usage_escaped() -> None:
    cells = [cell("ok", True), cell("bad", False)]
    page = to_html(summarize(cells), traces=cells)
    assert "<h2>Flow traces (2 cells)</h2>" in page
    assert EVIL not in page and "&lt;script&gt;" in page
    assert "<td>answer[0].lookup</td>" in page and "<td>30/4</td>" in page
    assert "<td>$0.000120</td>" in page and "<td>12.5</td>" in page
    # the failed cell comes first
    assert page.index("bad — failed") < page.index("ok — passed")


def test_the_trace_section_is_bounded_and_absent_without_traces() -> None:
    cells = [cell(f"c{i}", True) for i in range(120)]
    page = to_html(summarize(cells), traces=cells)
    assert page.count("<details>") == 100 and "… and 20 more traced cells" in page
    plain = [cell("p", True, trace=())]
    assert "Flow traces" not in to_html(summarize(plain), traces=plain)
