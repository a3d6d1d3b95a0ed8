"""Markdown rendering: GitHub-flavoured tables, for PR comments and notebooks."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.feedback import FeedbackReport
from domain.reports import CaseChange, Comparison, Report, format_p
from engine.reports._failed import FAILED_COLUMNS, failed_case_row, failed_note
from engine.reports._feedback import feedback_lines
from engine.reports._format import (
    DASH,
    SUMMARY_COLUMNS,
    clip,
    group_name,
    number,
    pct,
    points,
    signed,
    summary_row,
)

CASE_LIMIT = 50
# Markdown is not HTML: only what could open a tag or an entity is backslash-escaped, so raw
# text stays readable ("p<0.001", "R&D") and renders the same.
_MARKUP = re.compile(r"[|`\\]|<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def to_markdown(
    item: Report | Comparison,
    *,
    max_cases: int = CASE_LIMIT,
    feedback: FeedbackReport | None = None,
) -> str:
    """Render a report (a summary table and its errors) or a comparison (the verdict, a
    metrics table, and the regressed and improved cases) as Markdown.

    User text is escaped the Markdown way (backslashes): ``|`` cannot break a table, HTML
    tags and entities are shown, not run, and plain ``<`` or ``&`` stay as typed.

    Args:
        item: What to render.
        max_cases: The most regressed (and improved) cases listed.
        feedback: People's feedback on the report's cells (a section when there is any).

    Examples:
        >>> print(to_markdown(summarize(results)))  # doctest: +SKIP
        | Prompt version | Model | Cells | ...
    """
    if isinstance(item, Report):
        text = _report(item)
        extra = [] if feedback is None else feedback_lines(feedback, _cell)
        return text + "\n".join(extra) + "\n" if extra else text
    return _comparison(item, max_cases)


def _report(report: Report) -> str:
    lines = [_table(SUMMARY_COLUMNS, [summary_row(group) for group in report.groups])]
    errors = [
        f"- {_cell(group_name(g))}: {count} × {_cell(clip(message, 200))}"
        for g in report.groups
        for message, count in g.top_errors
    ]
    if errors:
        lines += ["", "**Most frequent errors**", "", *errors]
    if report.failed_cases:
        rows = [failed_case_row(case) for case in report.failed_cases]
        lines += ["", f"**Failed cases ({report.n_failed:,})**", "", _table(FAILED_COLUMNS, rows)]
        if failed_note(report):
            lines += ["", failed_note(report)]
    return "\n".join(lines) + "\n"


def _comparison(comparison: Comparison, max_cases: int) -> str:
    c = comparison
    rows = [
        ["Pass rate", pct(c.pass_rate_a), pct(c.pass_rate_b), points(c.pass_rate_difference)],
        ["Mean score", number(c.mean_score_a), number(c.mean_score_b), signed(c.score_difference)],
    ]
    ci = DASH if c.score_ci is None else f"[{c.score_ci[0]:+.3f}, {c.score_ci[1]:+.3f}]"
    lines = [
        f"**{_cell(c.verdict)}**",
        "",
        _table(["Metric", _cell(c.label_a), _cell(c.label_b), "B − A"], rows),
        "",
        f"- pairs: {c.n_pairs} ({c.n_graded_pairs} graded, {c.n_score_pairs} scored);"
        f" only in A: {c.n_only_a}; only in B: {c.n_only_b}",
        f"- improved: {len(c.improved)}; regressed: {len(c.regressed)};"
        f" unchanged: {len(c.unchanged)}; McNemar"
        f" {DASH if c.p_value is None else format_p(c.p_value)}",
        f"- score difference {1 - c.alpha:.0%} CI (paired bootstrap, {c.resamples} resamples,"
        f" seed {c.seed}): {ci}",
    ]
    for title, changes in (("Regressed", c.regressed), ("Improved", c.improved)):
        if changes:
            lines += ["", f"**{title} cases**", "", _case_list(changes, max_cases)]
    return "\n".join(lines) + "\n"


def _case_list(changes: Sequence[CaseChange], max_cases: int) -> str:
    names = [
        _cell(c.case_id) + ("" if c.repeat is None else f" #{c.repeat}")
        for c in changes[:max_cases]
    ]
    more = f" and {len(changes) - max_cases} more" if len(changes) > max_cases else ""
    return ", ".join(names) + more


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row([_cell(cell) for cell in row]) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return _MARKUP.sub(lambda m: "\\" + m.group(), " ".join(text.split()))
