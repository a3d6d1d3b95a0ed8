"""One self-contained HTML page: inline CSS and SVG, nothing fetched, all user text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.feedback import FeedbackReport
from domain.flows import StepSummary
from domain.reports import CaseChange, Comparison, Report, format_p
from engine.reports._failed import FAILED_COLUMNS, failed_case_row, failed_note
from engine.reports._feedback import feedback_lines
from engine.reports._format import (
    DASH,
    SUMMARY_COLUMNS,
    clip,
    esc,
    group_name,
    number,
    pct,
    points,
    signed,
    summary_row,
    usd,
)
from engine.reports._svg import Series, bar_chart
from engine.reports._traces import trace_sections

OUTPUT_LIMIT = 500
CASE_LIMIT = 50
_BLUE, _ORANGE, _GREEN = "#4c78a8", "#f58518", "#54a24b"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}.meta{color:#59636e}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
.chart{max-width:100%;height:auto;font-size:11px;fill:#1f2328}
.chart-title{font-size:13px;font-weight:600}.grid{stroke:#e5e7eb}.tick{fill:#59636e}
.value{font-size:10px}.error{stroke:#1f2328;stroke-width:1.5;fill:none}
.verdict{padding:.6rem .9rem;border-radius:6px;background:#f6f8fa;font-weight:600}
.verdict.winner{background:#dafbe1}pre{white-space:pre-wrap;word-break:break-word;margin:0;
max-width:480px;font-size:12px}
""".strip()


def _feedback(feedback: FeedbackReport | None) -> list[str]:
    lines = [] if feedback is None else feedback_lines(feedback, str)
    if not lines:
        return []
    return ["<h2>Human feedback</h2>", f"<pre>{esc(chr(10).join(lines[3:]))}</pre>"]


def _steps(steps: Sequence[StepSummary], report: Report) -> list[str]:
    if not steps:
        return []
    names = {(g.prompt_version, g.model): group_name(g) for g in report.groups}
    header = ("Group", "Step", "Kind", "Runs", "Error rate", "p50 ms", "p95 ms", "Cost", "Scores")
    rows = [
        [
            names.get((s.prompt_version, s.model), f"{s.prompt_version[:12]} · {s.model}"),
            s.step,
            s.kind,
            f"{s.runs:,}",
            pct(s.error_rate),
            number(s.latency_p50_ms, 1),
            number(s.latency_p95_ms, 1),
            usd(s.cost_usd),
            ", ".join(f"{k} {v:.3f}" for k, v in s.mean_scores.items()) or DASH,
        ]
        for s in steps
    ]
    return ["<h2>Flow steps</h2>", _table(header, rows)]


def to_html(
    report: Report,
    comparison: Comparison | None = None,
    *,
    title: str = "Evaluation report",
    max_cases: int = CASE_LIMIT,
    feedback: FeedbackReport | None = None,
    steps: Sequence[StepSummary] = (),
    traces: Sequence[Any] = (),
) -> str:
    """Render a report, and optionally a comparison, as one self-contained HTML file.

    The page holds a summary table, SVG bar charts (pass rate with 95% Wilson error bars,
    latency p50/p95, cost per group), the most frequent errors, the failed cases (variables,
    expected, output and reasons) and, with a comparison, its
    verdict, metrics and regressed/improved cases with both outputs. CSS and charts are
    inline; nothing is loaded from elsewhere and every user-provided text is escaped.

    Args:
        report: The summary to show.
        comparison: A comparison to show below it.
        title: The page title.
        max_cases: The most regressed (and improved) cases shown.
        feedback: People's feedback on the cells: overrides and judge alignment, shown as
            text under the summary when anyone gave feedback.
        steps: A flow run's per-step report (`domain.flows.step_report`), shown as a table
            under the summary.
        traces: A flow run's cells (records with a ``trace``): each cell's steps with their
            inputs, outputs, latency, tokens, cost and errors, failed cells first (at most
            `TRACE_CELLS`).

    Examples:
        >>> Path("report.html").write_text(to_html(summarize(results)))  # doctest: +SKIP
    """
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{report.n_results:,} cells · runs: '
        f"{esc(', '.join(report.run_ids)) or DASH}</p>",
        "<h2>Summary</h2>",
        _table(SUMMARY_COLUMNS, [summary_row(group) for group in report.groups]),
        *_feedback(feedback),
        *_steps(steps, report),
        "<h2>Charts</h2>",
        f'<div class="charts">{_charts(report)}</div>',
        *_errors(report),
        *_failed(report),
        *trace_sections(traces),
    ]
    if comparison is not None:
        body += _comparison(comparison, max_cases)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _charts(report: Report) -> str:
    groups = report.groups
    names = [group_name(g, "\n") for g in groups]
    pass_rates = Series(
        "pass rate", [g.pass_rate for g in groups], _BLUE, [g.pass_ci for g in groups]
    )
    p50 = Series("p50", [g.latency_p50_ms for g in groups], _BLUE)
    p95 = Series("p95", [g.latency_p95_ms for g in groups], _ORANGE)
    cost = Series("cost", [g.cost_usd for g in groups], _GREEN)
    return "\n".join(
        [
            bar_chart(
                title="Pass rate (95% Wilson CI)",
                categories=names,
                series=[pass_rates],
                fmt=lambda v: f"{v:.0%}",
                max_value=1.0,
            ),
            bar_chart(
                title="Latency (ms)", categories=names, series=[p50, p95], fmt=lambda v: f"{v:,.0f}"
            ),
            bar_chart(title="Cost (USD)", categories=names, series=[cost], fmt=usd),
        ]
    )


def _errors(report: Report) -> list[str]:
    rows = [
        [group_name(g), str(count), clip(message, OUTPUT_LIMIT)]
        for g in report.groups
        for message, count in g.top_errors
    ]
    if not rows:
        return []
    return ["<h2>Most frequent errors</h2>", _table(("Group", "Count", "Error"), rows)]


def _failed(report: Report) -> list[str]:
    if not report.failed_cases:
        return []
    rows = [failed_case_row(case) for case in report.failed_cases]
    note = failed_note(report)
    return [
        f"<h2>Failed cases ({report.n_failed:,})</h2>",
        _table(FAILED_COLUMNS, rows, preformatted={3, 4, 5}),
        *([f"<p>{esc(note)}</p>"] if note else []),
    ]


def _comparison(c: Comparison, max_cases: int) -> list[str]:
    winner = " winner" if c.winner else ""
    metrics = [
        ["Pass rate", pct(c.pass_rate_a), pct(c.pass_rate_b), points(c.pass_rate_difference)],
        ["Mean score", number(c.mean_score_a), number(c.mean_score_b), signed(c.score_difference)],
    ]
    ci = DASH if c.score_ci is None else f"[{c.score_ci[0]:+.3f}, {c.score_ci[1]:+.3f}]"
    p = DASH if c.p_value is None else esc(format_p(c.p_value))
    parts = [
        "<h2>Comparison</h2>",
        f'<p class="verdict{winner}">{esc(c.verdict)}</p>',
        _table(("Metric", c.label_a, c.label_b, "B − A"), metrics),
        f"<p>{c.n_pairs:,} pairs ({c.n_graded_pairs:,} graded, {c.n_score_pairs:,} scored);"
        f" only in A: {c.n_only_a:,}; only in B: {c.n_only_b:,}. Improved {len(c.improved):,},"
        f" regressed {len(c.regressed):,}, unchanged {len(c.unchanged):,}; exact McNemar {p};"
        f" score difference {1 - c.alpha:.0%} CI {ci} (paired bootstrap, {c.resamples:,}"
        f" resamples, seed {c.seed}).</p>",
    ]
    for name, changes in (("Regressed", c.regressed), ("Improved", c.improved)):
        if changes:
            parts += [f"<h3>{name} cases ({len(changes):,})</h3>", _cases(c, changes, max_cases)]
    return parts


def _cases(c: Comparison, changes: Sequence[CaseChange], max_cases: int) -> str:
    header = ("Case", "Repeat", f"Output of {c.label_a}", f"Output of {c.label_b}")
    rows = [
        [
            ch.case_id,
            DASH if ch.repeat is None else str(ch.repeat),
            clip(ch.output_a, OUTPUT_LIMIT),
            clip(ch.output_b, OUTPUT_LIMIT),
        ]
        for ch in changes[:max_cases]
    ]
    more = len(changes) - max_cases
    note = f"<p>… and {more:,} more.</p>" if more > 0 else ""
    return _table(header, rows, preformatted={2, 3}) + note


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, preformatted: set[int] | None = None
) -> str:
    pre = preformatted or set()
    head = "".join(f"<th>{esc(cell)}</th>" for cell in header)
    body = [
        "<tr>"
        + "".join(
            f"<td><pre>{esc(cell)}</pre></td>" if i in pre else f"<td>{esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + ("\n</tbody>\n</table>")
    )
