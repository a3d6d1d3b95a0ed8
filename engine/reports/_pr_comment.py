"""A short Markdown summary of a gated run, for a pull-request comment: the verdict, the
pass rate, each gate, the comparison with the baseline and the first failing cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from domain.reports import Comparison, GateResult, Report, all_passed, format_p
from engine.reports._failed import FAILED_COLUMNS, failed_case_row
from engine.reports._format import DASH, pct, points
from engine.reports._markdown import _cell, _table

TOP_FAILED = 5


def to_pr_comment(
    report: Report,
    gates: Sequence[GateResult],
    comparisons: Sequence[Comparison] = (),
    *,
    title: str,
    baseline: str | None = None,
    top_failed: int = TOP_FAILED,
) -> str:
    """The gated run as a PR comment (GitHub-flavoured Markdown).

    Args:
        report: The run's summary (`Run.summary()`).
        gates: The gates the run was held to.
        comparisons: The candidate against the baseline, one per model.
        title: What was evaluated (the eval file's name, the run id).
        baseline: How to name the baseline (``run_… (production)``), if there is one.
        top_failed: The most failing cases listed.

    Examples:
        >>> print(to_pr_comment(run.summary(), gates, title="arithmetic"))  # doctest: +SKIP
        ### ✅ AutoForge eval: arithmetic
    """
    passed = sum(g.n_passed for g in report.groups)
    graded = sum(g.n_graded for g in report.groups)
    verdict = "✅" if all_passed(gates) else "❌"
    lines = [
        f"### {verdict} AutoForge eval: {_cell(title)}",
        "",
        f"Pass rate **{pct(passed / graded if graded else None)}** ({passed}/{graded} graded"
        f" cells, {report.n_results} cells in all)",
    ]
    if gates:
        rows = [[_mark(g), g.name, g.threshold, g.actual, g.detail] for g in gates]
        lines += ["", _table(["", "Gate", "Needs", "Actual", "Detail"], rows)]
    if baseline is not None:
        lines += ["", f"**Against the baseline: {_cell(baseline)}**", ""]
        lines += [_comparison_line(c) for c in comparisons] or ["- nothing in common to compare"]
    failing = report.failed_cases[:top_failed]
    if failing:
        # Versions as a person names them (`v2`), as the report's groups do.
        names = {g.prompt_version: g.version_name for g in report.groups if g.version_name}
        rows = [
            failed_case_row(
                replace(c, prompt_version=names.get(c.prompt_version, c.prompt_version))
            )
            for c in failing
        ]
        more = report.n_failed - len(failing)
        lines += ["", f"**Failing cases** ({report.n_failed})", "", _table(FAILED_COLUMNS, rows)]
        if more > 0:
            lines += ["", f"… and {more} more."]
    return "\n".join(lines) + "\n"


def _mark(gate: GateResult) -> str:
    return "✅" if gate.passed else "❌"


def _comparison_line(c: Comparison) -> str:
    p_value = DASH if c.p_value is None else format_p(c.p_value)
    return (
        f"- {_cell(c.label_b)}: {pct(c.pass_rate_a)} → {pct(c.pass_rate_b)}"
        f" ({points(c.pass_rate_difference)}), {len(c.improved)} improved,"
        f" {len(c.regressed)} regressed, McNemar {p_value}: {_cell(c.verdict)}"
    )
