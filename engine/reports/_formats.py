"""One report in the format a caller names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from domain.feedback import FeedbackReport
from domain.flows import StepSummary
from domain.reports import Comparison, Report
from engine.reports._html import to_html
from engine.reports._json import to_json
from engine.reports._markdown import to_markdown

ReportFormat = Literal["json", "markdown", "html"]


def render(
    report: Report,
    fmt: ReportFormat,
    comparison: Comparison | None = None,
    *,
    title: str,
    feedback: FeedbackReport | None = None,
    steps: Sequence[StepSummary] = (),
    traces: Sequence[Any] = (),
) -> str:
    """``report`` (and ``comparison``) as JSON, Markdown or one self-contained HTML page;
    a flow run's ``steps`` (its per-step report) are a table of the HTML page, and its
    cells' ``traces`` (records with a ``trace``) a section of it.

    JSON holds the report (and ``feedback`` under ``"feedback"``); ``title`` heads the HTML
    page; Markdown and HTML add the feedback section when anyone gave feedback.
    """
    if fmt == "json":
        return to_json(report, feedback=feedback)
    if fmt == "html":
        return to_html(
            report, comparison, title=title, feedback=feedback, steps=steps, traces=traces
        )
    text = to_markdown(report, feedback=feedback)
    return text if comparison is None else f"{text}\n\n{to_markdown(comparison)}"
