"""The failed-cases section's rows, shared by the Markdown and HTML renderers."""

from __future__ import annotations

import json

from domain.reports import FailedCase, Report
from engine.reports._format import DASH, clip, short_version

FAILED_COLUMNS = ("Version", "Model", "Case", "Variables", "Expected", "Output", "Reasons")
VARIABLES_LIMIT = 160
TEXT_LIMIT = 200
REASONS_LIMIT = 300


def failed_case_row(case: FailedCase) -> list[str]:
    """One failed cell as table cells, long texts shortened."""
    variables = json.dumps(dict(case.variables), ensure_ascii=False, default=str)
    reasons = "; ".join(f"{name}: {reason}" for name, reason in case.reasons.items())
    return [
        short_version(case.prompt_version),
        case.model,
        case.case_id if case.repeat == 0 else f"{case.case_id} #{case.repeat}",
        clip(variables, VARIABLES_LIMIT) if case.variables else DASH,
        clip(case.expected, TEXT_LIMIT),
        _answer(case),
        clip(reasons, REASONS_LIMIT) if reasons else DASH,
    ]


def _answer(case: FailedCase) -> str:
    """The output, then each tool call as ``name(arguments)`` (malformed ones flagged)."""
    calls = [
        f"{call.name}({call.arguments})" + ("" if call.ok else " [malformed]")
        for call in case.tool_calls
    ]
    if not calls:
        return clip(case.output, TEXT_LIMIT)
    text = "; ".join([case.output, *calls] if case.output else calls)
    return clip(text, TEXT_LIMIT + REASONS_LIMIT)


def failed_note(report: Report) -> str:
    """How many failed cells the section leaves out, or ``""``."""
    more = report.n_failed - len(report.failed_cases)
    return f"… and {more:,} more failed cells." if more > 0 else ""
