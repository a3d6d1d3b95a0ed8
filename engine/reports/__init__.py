"""Renderers of reports and comparisons: JSON, Markdown and one self-contained HTML page;
for CI, JUnit XML and a pull-request comment of a gated run.

Examples:
    >>> from domain.reports import summarize  # doctest: +SKIP
    >>> html = to_html(summarize(results), title="v2 vs v1")  # doctest: +SKIP
"""

from engine.reports._formats import ReportFormat, render
from engine.reports._html import to_html
from engine.reports._json import to_json
from engine.reports._junit import to_junit
from engine.reports._markdown import to_markdown
from engine.reports._optimization import render_optimization
from engine.reports._pr_comment import to_pr_comment

__all__ = [
    "ReportFormat",
    "render",
    "render_optimization",
    "to_html",
    "to_json",
    "to_junit",
    "to_markdown",
    "to_pr_comment",
]
