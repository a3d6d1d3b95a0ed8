"""The failed cells of a report, each with what was asked, expected and why it failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.llm.tool_calls import ToolCall
from domain.reports.records import ResultRecord

MAX_FAILED_CASES = 50


@dataclass(frozen=True, kw_only=True)
class FailedCase:
    """A cell whose verdict is a failure (an errored cell included).

    Attributes:
        prompt_version: The prompt version id.
        model: The asked model.
        case_id: The test case id.
        repeat: The repeat index.
        variables: The case's template variables.
        expected: The case's expected output, if any.
        output: What the model answered, ``None`` when the call failed.
        reasons: Why each failing scorer said so, by name; the error, for an errored cell.
        tool_calls: The function calls in the model's answer.
    """

    prompt_version: str
    model: str
    case_id: str
    repeat: int
    variables: Mapping[str, Any] = field(default_factory=dict, hash=False)
    expected: str | None = None
    output: str | None = None
    reasons: Mapping[str, str] = field(default_factory=dict, hash=False)
    tool_calls: tuple[ToolCall, ...] = field(default=(), hash=False)


def failed_cases(
    records: Iterable[ResultRecord], limit: int = MAX_FAILED_CASES
) -> tuple[FailedCase, ...]:
    """Up to ``limit`` failed cells in key order (prompt version, model, case, repeat)."""
    failed = sorted(
        (r for r in records if r.verdict is False),
        key=lambda r: (r.prompt_version, r.model, r.case_id, r.repeat),
    )
    return tuple(
        FailedCase(
            prompt_version=r.prompt_version,
            model=r.model,
            case_id=r.case_id,
            repeat=r.repeat,
            variables=r.variables,
            expected=r.expected,
            output=r.output,
            reasons={"error": r.error} if r.error is not None else dict(r.reasons),
            tool_calls=r.tool_calls,
        )
        for r in failed[:limit]
    )
