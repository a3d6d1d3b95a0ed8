"""The feedback section of a run's report: cells people overrode and judge alignment."""

from __future__ import annotations

import dataclasses
from typing import Any

from domain.feedback import FeedbackReport, JudgeAlignment
from engine.reports._format import DASH, pct

DISAGREEMENT_LIMIT = 20


def feedback_lines(report: FeedbackReport, cell: Any) -> list[str]:
    """Markdown lines of ``report`` (``cell`` escapes user text); none without feedback."""
    if report.empty:
        return []
    s = report.summary
    lines = [
        "",
        "**Human feedback**",
        "",
        f"- {_cells(s.n_overridden)} overridden ({s.n_feedback:,} feedback on"
        f" {_cells(s.n_cells_with_feedback)})",
        f"- effective pass rate {pct(s.effective_pass_rate)}"
        f" (scorers alone: {pct(s.automatic_pass_rate)}); the table above counts the overrides",
    ]
    for judge in report.judges:
        lines += ["", *_alignment(judge, cell)]
    return lines


def _cells(n: int) -> str:
    return f"{n:,} cell{'' if n == 1 else 's'}"


def _alignment(judge: JudgeAlignment, cell: Any) -> list[str]:
    kappa = DASH if judge.kappa is None else f"{judge.kappa:.2f}"
    flag = " ⚠ below 80% agreement" if judge.flagged else ""
    (pp, pf), (fp, ff) = judge.confusion
    lines = [
        f"**Judge alignment: {cell(judge.scorer)}**{flag}",
        "",
        f"- {judge.n:,} cells with a human verdict; agreement {pct(judge.agreement)};"
        f" Cohen's kappa {kappa}",
        "",
        "| Judge \\ Human | pass | fail |",
        "| --- | --- | --- |",
        f"| pass | {pp} | {pf} |",
        f"| fail | {fp} | {ff} |",
    ]
    if judge.disagreements:
        shown = [
            cell(f"{case} #{repeat} ({version[:8]}, {model})")
            for version, model, case, repeat in judge.disagreements[:DISAGREEMENT_LIMIT]
        ]
        more = len(judge.disagreements) - len(shown)
        lines += [
            "",
            "Disagreeing cells: " + ", ".join(shown) + (f" and {more} more" if more else ""),
        ]
    return lines


def feedback_document(report: FeedbackReport) -> dict[str, Any]:
    """``report`` as JSON-ready values (agreement flags included)."""
    return dataclasses.asdict(report)
