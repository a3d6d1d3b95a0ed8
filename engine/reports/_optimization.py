"""An optimization's report (JSON, Markdown or one self-contained HTML page) from its report
data (`Optimization.report_data()`): the best-score trajectory, the Pareto front, the lineage
of candidates, the diff of best vs baseline, the test split's wins and losses, the cost split
and the promotion outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.errors import ValidationError
from engine.reports._formats import ReportFormat
from engine.reports._json import _finite
from engine.reports._optimization_pages import to_html, to_markdown

FORMATS = ("json", "markdown", "html")


def render_optimization(data: Mapping[str, Any], fmt: ReportFormat = "markdown") -> str:
    """An optimization's report data as JSON, Markdown or one self-contained HTML page.

    Args:
        data: What `Optimization.report_data()` returns: ``optimization`` (its info),
            ``trajectory``, ``candidates``, ``front``, ``diff``, ``test`` (``None`` until
            the test split is evaluated) and ``cost``.
        fmt: ``json`` (the data, strict JSON), ``markdown`` (tables, for PRs and
            terminals) or ``html`` (inline CSS and SVG, nothing fetched, user text escaped).

    Raises:
        ValidationError: ``reason="unknown-format"`` for any other ``fmt``.

    Examples:
        >>> print(render_optimization(opt.report_data(), "markdown"))  # doctest: +SKIP
    """
    if fmt not in FORMATS:
        raise ValidationError(
            f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}",
            reason="unknown-format",
            format=str(fmt),
        )
    if fmt == "json":
        document = {"kind": "optimization", **data}
        return json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False)
    return to_html(data) if fmt == "html" else to_markdown(data)
