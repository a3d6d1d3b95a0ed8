"""The HTML report's flow traces: per cell, each step with its inputs, output, latency,
tokens, cost and error; every text escaped, long ones cut."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from engine.reports._format import DASH, clip, esc, number, short_version

TRACE_CELLS = 100
"""Cells whose trace the page shows: failed and errored ones first."""
TEXT_LIMIT = 300
COLUMNS = ("Step", "Kind", "Inputs", "Output", "Latency ms", "Tokens in/out", "Cost", "Error")


def trace_sections(cells: Sequence[Any], limit: int = TRACE_CELLS) -> list[str]:
    """The "Flow traces" section: one collapsible block per cell with a trace."""
    traced = [c for c in cells if getattr(c, "trace", None)]
    if not traced:
        return []
    traced.sort(key=lambda c: (c.error is None, c.passed is not False))
    parts = [f"<h2>Flow traces ({len(traced):,} cells)</h2>"]
    for cell in traced[:limit]:
        verdict = (
            "error"
            if cell.error
            else {True: "passed", False: "failed"}.get(cell.passed, "not graded")
        )
        case = cell.case_id if not cell.repeat else f"{cell.case_id} #{cell.repeat}"
        title = f"{short_version(cell.prompt_version)} · {cell.model} · {case} — {verdict}"
        parts.append(
            f"<details><summary>{esc(title)}</summary>\n{_table(cell.trace)}"
            + (f"\n<p>{esc(clip(cell.error, TEXT_LIMIT))}</p>" if cell.error else "")
            + "\n</details>"
        )
    more = len(traced) - limit
    if more > 0:
        parts.append(
            f"<p>… and {more:,} more traced cells: each is in the cells endpoint "
            "(<code>GET /v1/runs/{id}/cells</code>) and <code>run.records()</code>.</p>"
        )
    return parts


def _table(trace: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    rows = []
    for entry in trace:
        tokens = (
            f"{entry['prompt_tokens']:,}/{entry.get('completion_tokens') or 0:,}"
            if entry.get("prompt_tokens") is not None
            else DASH
        )
        cost = entry.get("cost_usd")
        cells = [
            str(entry.get("path") or entry.get("step") or ""),
            str(entry.get("kind") or ""),
            _text(entry.get("inputs")),
            _text(entry.get("output")),
            number(entry.get("latency_ms", entry.get("wall_ms")), 1),
            tokens,
            DASH if cost is None else f"${float(cost):,.6f}",
            clip(str(entry["error"]), TEXT_LIMIT) if entry.get("error") else DASH,
        ]
        rows.append(
            "<tr>"
            + "".join(
                f"<td><pre>{esc(c)}</pre></td>" if i in (2, 3) else f"<td>{esc(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    return (
        f'<table class="trace">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _text(value: Any) -> str:
    if value is None:
        return DASH
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return clip(text, TEXT_LIMIT)
