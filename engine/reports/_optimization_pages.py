"""The optimization report laid out as Markdown and as one self-contained HTML page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.reports._format import esc
from engine.reports._html import _CSS, _table
from engine.reports._markdown import _cell
from engine.reports._markdown import _table as _md_table
from engine.reports._optimization_rows import (
    COST_COLUMNS,
    FRONT_COLUMNS,
    HELD_OUT_COLUMNS,
    LINEAGE_COLUMNS,
    cost_rows,
    diff_parts,
    front_rows,
    held_out_rows,
    held_out_summary,
    lineage_rows,
    promotion,
    summary_rows,
    title,
    trajectory_points,
    trajectory_rows,
)
from engine.reports._svg import Point, step_chart

SUMMARY_COLUMNS = ("Item", "Value")
TRAJECTORY_COLUMNS = ("Metric calls", "Best val score", "Candidate")
_BACKTICKS = re.compile(r"`+")
_CSS_EXTRA = """
pre.diff{max-width:none;background:#f6f8fa;padding:.5rem;border-radius:6px}
pre.diff span{display:block}.add{background:#dafbe1}.del{background:#ffebe9}
.hunk{color:#59636e}
""".strip()


def to_markdown(data: Mapping[str, Any]) -> str:
    """The report as GitHub-flavoured Markdown; user text escaped the Markdown way."""
    info = data.get("optimization") or {}
    unified, _ = diff_parts(data)
    lines = [
        f"# {_cell(title(data))}",
        "",
        f"**{_cell(promotion(data))}**",
        "",
        _md_table(SUMMARY_COLUMNS, summary_rows(data)),
        "",
        "## Best validation score against metric calls",
        "",
        _md_table(TRAJECTORY_COLUMNS, trajectory_rows(data)),
        "",
        f"## Pareto front ({len(data.get('front') or ()):,})",
        "",
        _md_table(FRONT_COLUMNS, front_rows(data)),
        "",
        f"## Lineage ({len(data.get('candidates') or ()):,} candidates)",
        "",
        _md_table(LINEAGE_COLUMNS, lineage_rows(data)),
        "",
        "## Best vs baseline",
        "",
        _fenced(unified, "diff") if unified else "The best candidate is the baseline.",
        "",
        "## Test split",
        "",
        held_out_summary(data),
    ]
    rows = held_out_rows(data)
    if rows:
        lines += ["", _md_table(HELD_OUT_COLUMNS, rows)]
    lines += ["", "## Cost", "", _md_table(COST_COLUMNS, cost_rows(data))]
    if info.get("error"):
        lines += ["", f"Error: {_cell(str(info['error']))}"]
    return "\n".join(lines) + "\n"


def _fenced(text: str, language: str) -> str:
    # A fence longer than any run of backticks inside: user text cannot close it early.
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def to_html(data: Mapping[str, Any]) -> str:
    """The report as one HTML page: inline CSS and SVG, nothing fetched, user text escaped."""
    name = title(data)
    promoted = (data.get("optimization") or {}).get("promoted")
    outcome = promotion(data)
    winner = " winner" if promoted or outcome.startswith("Significant") else ""
    rows = held_out_rows(data)
    body = [
        f"<h1>{esc(name)}</h1>",
        f'<p class="verdict{winner}">{esc(outcome)}</p>',
        "<h2>Summary</h2>",
        _table(SUMMARY_COLUMNS, summary_rows(data)),
        "<h2>Best validation score against metric calls</h2>",
        f'<div class="charts">{_trajectory_chart(data)}</div>',
        f"<h2>Pareto front ({len(data.get('front') or ()):,})</h2>",
        _table(FRONT_COLUMNS, front_rows(data)),
        f"<h2>Lineage ({len(data.get('candidates') or ()):,} candidates)</h2>",
        _table(LINEAGE_COLUMNS, lineage_rows(data), preformatted={8}),
        "<h2>Best vs baseline</h2>",
        _diff(data),
        "<h2>Test split</h2>",
        f"<p>{esc(held_out_summary(data))}</p>",
        *([_table(HELD_OUT_COLUMNS, rows, preformatted={2, 3, 4, 5})] if rows else []),
        "<h2>Cost</h2>",
        _table(COST_COLUMNS, cost_rows(data)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(name)}</title>\n<style>\n{_CSS}\n{_CSS_EXTRA}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _trajectory_chart(data: Mapping[str, Any]) -> str:
    info = data.get("optimization") or {}
    points = [
        Point(
            float(p.get("calls", 0)),
            float(p.get("best_val_score") or 0.0),
            f"{p.get('candidate', '')}: {float(p.get('best_val_score') or 0.0):.3f}"
            f" after {p.get('calls', 0):,} calls",
        )
        for p in trajectory_points(data)
    ]
    return step_chart(
        title="Best validation score",
        points=points,
        x_max=float(info.get("max_metric_calls") or 0),
        x_label="metric calls",
        fmt=lambda v: f"{v:.2f}",
    )


def _diff(data: Mapping[str, Any]) -> str:
    unified, lines = diff_parts(data)
    if not unified:
        return "<p>The best candidate is the baseline.</p>"
    return '<pre class="diff">' + "".join(_diff_line(line) for line in lines) + "</pre>"


def _diff_line(line: str) -> str:
    # An empty block span would collapse: a space keeps the blank line visible.
    kind = _line_kind(line)
    attribute = f' class="{kind}"' if kind else ""
    return f"<span{attribute}>{esc(line) or ' '}</span>"


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "")
