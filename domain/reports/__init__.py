"""Report maths: pure functions from recorded results to summaries and comparisons.

Examples:
    >>> report = summarize(results)  # doctest: +SKIP
    >>> compare_groups(results, a=("v1", "gpt-4o"), b=("v2", "gpt-4o")).verdict  # doctest: +SKIP
    'v2 on gpt-4o is better than v1 on gpt-4o (p=0.0039)'
"""

from domain.reports.compare import CaseChange, Comparison, compare, compare_groups, format_p
from domain.reports.failed import FailedCase, failed_cases
from domain.reports.gates import (
    GateResult,
    Threshold,
    all_passed,
    baseline_comparisons,
    check_scorer_names,
    completed_gate,
    parse_threshold,
    regression_gate,
    threshold_gate,
)
from domain.reports.records import ResultRecord
from domain.reports.stats import (
    Z_95,
    mcnemar_exact,
    paired_bootstrap,
    percentile,
    wilson_interval,
)
from domain.reports.summary import GroupSummary, Report, summarize, summarize_group

__all__ = [
    "Z_95",
    "CaseChange",
    "Comparison",
    "FailedCase",
    "GateResult",
    "GroupSummary",
    "Report",
    "ResultRecord",
    "Threshold",
    "all_passed",
    "baseline_comparisons",
    "check_scorer_names",
    "compare",
    "compare_groups",
    "completed_gate",
    "failed_cases",
    "format_p",
    "mcnemar_exact",
    "paired_bootstrap",
    "parse_threshold",
    "percentile",
    "regression_gate",
    "summarize",
    "summarize_group",
    "threshold_gate",
    "wilson_interval",
]
