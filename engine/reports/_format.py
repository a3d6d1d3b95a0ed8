"""Number and text formatting shared by the Markdown and HTML renderers."""

from __future__ import annotations

import html
import re

from domain.reports import GroupSummary

DASH = "–"
_HEX_ID = re.compile(r"[0-9a-f]{40,64}")
SUMMARY_COLUMNS = (
    "Prompt version",
    "Model",
    "Cells",
    "Errors",
    "Pass rate",
    "95% CI",
    "Pass rate w/o errors",
    "Mean score",
    "p50 ms",
    "p95 ms",
    "Tokens",
    "Cost (USD)",
    "Fallback",
    "Cached",
)


def pct(value: float | None) -> str:
    """``80.0%``, or a dash for nothing."""
    return DASH if value is None else f"{value:.1%}"


def interval(bounds: tuple[float, float] | None) -> str:
    """``49.0–94.3%``, or a dash for nothing."""
    if bounds is None:
        return DASH
    return f"{bounds[0] * 100:.1f}–{bounds[1] * 100:.1f}%"


def number(value: float | None, digits: int = 3) -> str:
    """A float with ``digits`` decimals, or a dash for nothing."""
    return DASH if value is None else f"{value:,.{digits}f}"


def points(value: float | None) -> str:
    """A difference of rates in percentage points, ``+12.5 pp``; a dash for nothing."""
    return DASH if value is None else f"{value * 100:+.1f} pp"


def short_version(version: str) -> str:
    """A content-hash version id cut to 12 characters, as Git shortens commits."""
    return version[:12] if _HEX_ID.fullmatch(version) else version


def group_name(group: GroupSummary, separator: str = " · ") -> str:
    """``<version> · <model>``, the version as a person names it when known."""
    return f"{version_label(group)}{separator}{group.model}"


def version_label(group: GroupSummary) -> str:
    """``v3 (production)`` when the report knows it, else the short version id."""
    return group.version_name or short_version(group.prompt_version)


def signed(value: float | None, digits: int = 3) -> str:
    """A float with an explicit sign, or a dash for nothing."""
    return DASH if value is None else f"{value:+,.{digits}f}"


def usd(value: float, unknown: int = 0) -> str:
    """``$0.0123``, flagged when some costs are unknown."""
    return f"${value:,.4f}" + (f" (+{unknown} unknown)" if unknown else "")


def summary_row(group: GroupSummary) -> list[str]:
    """The cells of one group's summary row, as plain (unescaped) text."""
    return [
        version_label(group),
        group.model,
        f"{group.n_cells:,}",
        f"{group.n_errors:,}",
        f"{pct(group.pass_rate)} ({group.n_passed}/{group.n_graded})",
        interval(group.pass_ci),
        pct(group.pass_rate_without_errors),
        number(group.mean_score),
        number(group.latency_p50_ms, 0),
        number(group.latency_p95_ms, 0),
        f"{group.total_tokens:,}",
        usd(group.cost_usd, group.n_cost_unknown),
        f"{group.n_fallback:,}",
        f"{group.n_cached:,}",
    ]


def clip(text: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis; a dash for ``None``."""
    if text is None:
        return DASH
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str) -> str:
    """HTML-escape user text (quotes too, so it is safe in attributes)."""
    return html.escape(text, quote=True)
