"""Report maths: pure functions from recorded results to summaries and comparisons.

Examples:
    >>> report = summarize(results)  # doctest: +SKIP
    >>> compare_groups(results, a=("v1", "gpt-4o"), b=("v2", "gpt-4o")).verdict  # doctest: +SKIP
    'v2 on gpt-4o is better than v1 on gpt-4o (p=0.0039)'
"""

from domain.reports.compare import CaseChange, Comparison, compare, compare_groups, format_p
from domain.reports.failed import FailedCase, failed_cases
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
    "GroupSummary",
    "Report",
    "ResultRecord",
    "compare",
    "compare_groups",
    "failed_cases",
    "format_p",
    "mcnemar_exact",
    "paired_bootstrap",
    "percentile",
    "summarize",
    "summarize_group",
    "wilson_interval",
]
