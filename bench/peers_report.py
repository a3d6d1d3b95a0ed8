"""The peer benchmark's numbers: one measurement per runner process, medians, the table."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from peers_workload import Workload

FIELDS = (
    "wall_s",
    "timed_s",
    "span_s",
    "errors",
    "missing",
    "rate_limited",
    "peak_in_flight",
    "mean_in_flight",
    "requests",
)
HEADERS = ("wall s", "timed s", "span s", "errors", "missing", "429s", "peak", "mean", "requests")


@dataclass(frozen=True)
class Measurement:
    """What one runner process did on one workload (``None``: not measured)."""

    workload: str
    runner: str
    repeat: int
    wall_s: float
    timed_s: float | None
    span_s: float | None
    errors: int | None
    missing: int | None
    rate_limited: int
    peak_in_flight: int
    mean_in_flight: float | None
    requests: int
    note: str = ""
    failed: bool = False
    """The runner gave no result (e.g. Ray did not start): left out of the medians."""

    @classmethod
    def of(
        cls,
        workload: str,
        runner: str,
        repeat: int,
        wall_s: float,
        line: dict[str, Any],
        stats: dict[str, Any],
        note: str = "",
    ) -> Measurement:
        """From the parent's stopwatch, the runner's JSON line and the simulator's /stats."""
        recorded = line.get("recorded")
        cells = line.get("cells")
        return cls(
            workload=workload,
            runner=runner,
            repeat=repeat,
            # cli-cold times the `autoforge` process itself: its wrapper is not the user's
            wall_s=round(line.get("wall_s", wall_s), 4),
            timed_s=line.get("timed_s"),
            span_s=stats["request_span_s"],
            errors=line.get("errors"),
            missing=None if recorded is None or cells is None else cells - recorded,
            rate_limited=stats["rate_limited"],
            peak_in_flight=stats["max_in_flight"],
            mean_in_flight=stats["mean_in_flight"],
            requests=stats["by_route"].get("POST /v1/chat/completions", 0),
            note=note or ("" if line.get("status", "completed") == "completed" else line["status"]),
            failed=bool(note) or line.get("status") == "no --json output",
        )

    def summary(self) -> str:
        shown = ", ".join(f"{k} {v}" for k, v in asdict(self).items() if k in FIELDS)
        return f"{self.workload} {self.runner}: {shown}" + (f" ({self.note})" if self.note else "")


def medians(
    results: list[Measurement],
    workloads: list[Workload],
    runners: list[str],
    missing: dict[str, str],
) -> list[dict[str, Any]]:
    """One row per workload × runner: the median of each field over its repeats."""
    rows = []
    for workload in workloads:
        for runner in runners:
            row: dict[str, Any] = {"workload": workload.name, "runner": runner}
            mine = [m for m in results if m.workload == workload.name and m.runner == runner]
            if runner in missing or not mine:
                rows.append({**row, "n/a": missing.get(runner, "not run")})
                continue
            good = [m for m in mine if not m.failed]
            for name in FIELDS:
                values = [getattr(m, name) for m in good if getattr(m, name) is not None]
                row[name] = round(statistics.median(values), 4) if values else None
            row["repeats"] = len(good)
            row["notes"] = sorted({m.note for m in mine if m.note})
            if len(good) < len(mine):
                row["notes"].insert(0, f"{len(mine) - len(good)} of {len(mine)} runs failed")
            rows.append(row)
    return rows


COUNTS = {"errors", "missing", "rate_limited", "peak_in_flight", "requests"}


def _cell(value: Any, name: str = "") -> str:
    if value is None:
        return "—"
    if name in COUNTS and float(value).is_integer():
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def render_table(
    rows: list[dict[str, Any]], workloads: list[Workload], meta: dict[str, Any]
) -> str:
    """The medians as a Markdown table, with each workload's bound and the run's conditions."""
    bounds = {w.name: w for w in workloads}
    lines = [
        "| workload | runner | " + " | ".join(HEADERS) + " |",
        "|---|---|" + "---|" * len(HEADERS),
    ]
    shown = ""
    for row in rows:
        w = bounds[row["workload"]]
        label = "" if w.name == shown else f"{w.label()} (bound {w.bound_s:.1f} s)"
        shown = w.name
        if "n/a" in row:
            why = f"{row['runner']} ({row['n/a']})"
            lines.append(f"| {label} | {why} | " + " | ".join(["n/a"] * len(HEADERS)) + " |")
            continue
        cells = [_cell(row[name], name) for name in FIELDS]
        notes = f" [{'; '.join(row['notes'])}]" if row["notes"] else ""
        lines.append(f"| {label} | {row['runner']}{notes} | " + " | ".join(cells) + " |")
    conditions = ", ".join(f"{k}: {v}" for k, v in meta.items())
    return "\n".join(lines) + f"\n\nMedians of {meta['repeats']} runs each. {conditions}\n"
