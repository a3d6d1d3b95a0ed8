"""The optimization benchmark's numbers: one row per family × optimizer, averages, the table.

Pure: no engine, no I/O. ``bench/optimize.py`` measures the rows; this adds them up.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

DSPY = "dspy.GEPA"
"""The optimizer name of the peer row (``bench/optimize_dspy.py``)."""


@dataclass(frozen=True)
class Row:
    """What one optimizer did on one family (``None``: not measured or not known).

    Attributes:
        family: The task family (``engine.simulator._families.FAMILIES``).
        optimizer: ``gepa``, ``fewshot``, ``random`` or `DSPY`.
        baseline: Mean test-split score of the family's naive baseline.
        optimized: Mean test-split score of the optimizer's best candidate.
        optimum: Mean test-split score of ``Family.optimum_system()`` (an ordinary run).
        metric_calls: What the optimizer's budget counts: candidate-evaluation cells,
            reflection calls and judge calls (for `DSPY`: rollouts + reflection calls).
        reflection_calls: Calls to the reflection model.
        test_calls: The final test-split cells (outside the budget).
        cost_usd: What the optimization cost (``None`` where not priced).
        wall_s: From starting the optimization to its test scores.
        ideal_s: ``(metric_calls + test_calls) × latency / concurrency`` (``None``: 0 ms).
        requests: HTTP requests the simulator served for it, by model.
        status: The optimization's final status.
        best_system: The best candidate's system message (JSON output only).
        extra: Anything else measured (JSON output only).
    """

    family: str
    optimizer: str
    baseline: float | None
    optimized: float | None
    optimum: float | None
    metric_calls: int | None
    reflection_calls: int | None
    test_calls: int | None
    cost_usd: float | None
    wall_s: float | None
    ideal_s: float | None = None
    requests: dict[str, int] = field(default_factory=dict)
    status: str = "completed"
    best_system: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pct_of_optimum(self) -> float | None:
        """``100 × optimized / optimum``: how much of the reachable score was reached."""
        if self.optimized is None or not self.optimum:
            return None
        return 100.0 * self.optimized / self.optimum

    @property
    def gap_closed(self) -> float | None:
        """``100 × (optimized − baseline) / (optimum − baseline)``: how much of the room."""
        if self.optimized is None or self.baseline is None or self.optimum is None:
            return None
        room = self.optimum - self.baseline
        return None if room <= 0 else 100.0 * (self.optimized - self.baseline) / room

    @property
    def wall_over_ideal(self) -> float | None:
        """``wall_s ÷ ideal_s`` (the target is ≤ 2)."""
        if self.wall_s is None or not self.ideal_s:
            return None
        return self.wall_s / self.ideal_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "optimizer": self.optimizer,
            "baseline": self.baseline,
            "optimized": self.optimized,
            "optimum": self.optimum,
            "pct_of_optimum": self.pct_of_optimum,
            "gap_closed": self.gap_closed,
            "metric_calls": self.metric_calls,
            "reflection_calls": self.reflection_calls,
            "test_calls": self.test_calls,
            "cost_usd": self.cost_usd,
            "wall_s": self.wall_s,
            "ideal_s": self.ideal_s,
            "wall_over_ideal": self.wall_over_ideal,
            "requests": self.requests,
            "status": self.status,
            "best_system": self.best_system,
            **self.extra,
        }


COMPUTED = ("pct_of_optimum", "gap_closed", "wall_over_ideal")


def row_from_dict(data: dict[str, Any]) -> Row:
    """A `Row` back from `Row.to_dict` (a saved ``--json``)."""
    names = set(Row.__dataclass_fields__) - {"extra"}
    extra = {k: v for k, v in data.items() if k not in names and k not in COMPUTED}
    return Row(**{k: v for k, v in data.items() if k in names}, extra=extra)


NUMBERS = (
    "baseline",
    "optimized",
    "optimum",
    "pct_of_optimum",
    "gap_closed",
    "metric_calls",
    "reflection_calls",
    "test_calls",
    "cost_usd",
    "wall_s",
    "ideal_s",
    "wall_over_ideal",
)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if len(known) == len(values) and known else None


def averages(rows: list[Row]) -> list[dict[str, Any]]:
    """Per optimizer, the mean of each number over the families (``None`` if any is missing)."""
    optimizers = list(dict.fromkeys(r.optimizer for r in rows))
    out = []
    for name in optimizers:
        mine = [r.to_dict() for r in rows if r.optimizer == name]
        mean = {k: _mean([m[k] for m in mine]) for k in NUMBERS}
        out.append({"optimizer": name, "families": len(mine), **mean})
    return out


def gaps(rows: list[Row], a: str = "gepa", b: str = "random") -> dict[str, Any]:
    """``a − b`` optimized test score, per family and on average (families with both)."""
    scores = {(r.family, r.optimizer): r.optimized for r in rows}
    families = list(dict.fromkeys(r.family for r in rows))
    per = {}
    for family in families:
        x, y = scores.get((family, a)), scores.get((family, b))
        if x is not None and y is not None:
            per[family] = x - y
    return {
        "pair": f"{a} - {b}",
        "per_family": per,
        "mean": statistics.fmean(per.values()) if per else None,
    }


HEADERS = (
    ("baseline", "baseline"),
    ("optimized", "optimized"),
    ("optimum", "optimum"),
    ("pct_of_optimum", "% of optimum"),
    ("gap_closed", "% gap closed"),
    ("metric_calls", "metric calls"),
    ("reflection_calls", "reflection calls"),
    ("test_calls", "test calls"),
    ("cost_usd", "cost $"),
    ("wall_s", "wall s"),
    ("ideal_s", "ideal s"),
    ("wall_over_ideal", "wall ÷ ideal"),
)
COUNTS = {"metric_calls", "reflection_calls", "test_calls"}


def _cell(value: Any, name: str) -> str:
    if value is None:
        return "—"
    if name in COUNTS:
        return f"{value:,.0f}"
    if name in ("baseline", "optimized", "optimum"):
        return f"{value:.3f}"
    if name == "cost_usd":
        return f"{value:.4f}"
    if name in ("pct_of_optimum", "gap_closed"):
        return f"{value:.0f}%"
    if name == "wall_over_ideal":
        return f"{value:.2f}×"
    return f"{value:,.1f}"


def render_table(rows: list[Row], meta: dict[str, Any]) -> str:
    """Every row, then the averages and the gepa − random gap, as Markdown."""
    timed = any(r.ideal_s is not None for r in rows)
    names = [k for k, _ in HEADERS if timed or k not in ("ideal_s", "wall_over_ideal")]
    titles = dict(HEADERS)
    head = "| family | optimizer | " + " | ".join(titles[k] for k in names) + " |"
    lines = [head, "|---|---|" + "---|" * len(names)]
    for row in rows:
        d = row.to_dict()
        status = "" if row.status == "completed" else f" ({row.status})"
        cells = [_cell(d[k], k) for k in names]
        lines.append(f"| {row.family} | {row.optimizer}{status} | " + " | ".join(cells) + " |")
    for avg in averages(rows):
        cells = [_cell(avg[k], k) for k in names]
        label = f"**mean of {avg['families']}**"
        lines.append(f"| {label} | {avg['optimizer']} | " + " | ".join(cells) + " |")
    gap = gaps(rows)
    text = "\n".join(lines) + "\n"
    if gap["per_family"]:
        per = ", ".join(f"{f} {v:+.3f}" for f, v in gap["per_family"].items())
        text += f"\n{gap['pair']} (optimized test score): mean {gap['mean']:+.3f} ({per})\n"
    conditions = ", ".join(f"{k}: {v}" for k, v in meta.items())
    return text + f"\n{conditions}\n"
