"""Per-step reports of flow cells: a pure function of their recorded traces.

For each (flow version, model, step): how often the step ran, how often it failed, its
latency (p50/p95 of the provider's answer time for ``llm`` steps, the call's for tools, the
wall time otherwise), tokens, cost and the mean of each of its own scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from domain.reports.stats import percentile


@dataclass(frozen=True)
class StepSummary:
    """One step of one flow version on one model, over a run's cells."""

    prompt_version: str
    model: str
    step: str
    kind: str
    runs: int
    errors: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    mean_scores: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def error_rate(self) -> float:
        """Failed runs of the step over its runs."""
        return self.errors / self.runs if self.runs else 0.0

    @property
    def pass_rate(self) -> float | None:
        """Mean of the step's own scores averaged together; ``None`` without any."""
        return fmean(self.mean_scores.values()) if self.mean_scores else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_version": self.prompt_version,
            "model": self.model,
            "step": self.step,
            "kind": self.kind,
            "runs": self.runs,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "mean_scores": dict(self.mean_scores),
            "pass_rate": self.pass_rate,
        }


def step_report(cells: Iterable[Any]) -> list[StepSummary]:
    """Summaries of every step of the flow cells among ``cells`` (records or rows with
    ``prompt_version``, ``model`` and ``trace``), in first-seen step order per group."""
    entries: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for cell in cells:
        for entry in getattr(cell, "trace", None) or ():
            entries[(cell.prompt_version, cell.model, entry["step"])].append(entry)
    summaries = []
    for (version, model, step), runs in entries.items():
        latencies = [float(_latency(e)) for e in runs if _latency(e) is not None]
        scores: dict[str, list[float]] = defaultdict(list)
        for entry in runs:
            for name, value in (entry.get("scores") or {}).items():
                scores[name].append(float(value))
        summaries.append(
            StepSummary(
                prompt_version=version,
                model=model,
                step=step,
                kind=str(runs[0].get("kind", "")),
                runs=len(runs),
                errors=sum(1 for e in runs if e.get("error")),
                latency_p50_ms=percentile(latencies, 50) if latencies else None,
                latency_p95_ms=percentile(latencies, 95) if latencies else None,
                prompt_tokens=sum(int(e.get("prompt_tokens") or 0) for e in runs),
                completion_tokens=sum(int(e.get("completion_tokens") or 0) for e in runs),
                cost_usd=sum(float(e.get("cost_usd") or 0.0) for e in runs),
                mean_scores={name: fmean(values) for name, values in sorted(scores.items())},
            )
        )
    return summaries


def _latency(entry: Mapping[str, Any]) -> Any:
    return entry.get("latency_ms", entry.get("wall_ms"))
