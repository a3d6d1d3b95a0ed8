"""The data of an optimization's report (rendered by `engine.reports.render_optimization`)
and of its `OptimizationInfo`, both built from the aggregate alone."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from domain.optimization.aggregate import Candidate, Optimization, mean_score
from domain.optimization.promotion import paired_test


def info_fields(state: Optimization) -> dict[str, Any]:
    """The state's part of `OptimizationInfo` (the row adds ids, names and times)."""
    config = state.config
    best = state.best()
    baseline = state.baseline
    return {
        "status": state.status,
        "optimizer": config.optimizer if config else "",
        "models": list(config.models) if config else [],
        "reflection_model": config.reflection_model if config else None,
        "dataset_version_id": config.dataset_version_id if config else "",
        "prompt_id": config.prompt_id if config else "",
        "prompt_name": config.prompt_name if config else "",
        "branch": state.branch,
        "baseline_version": baseline.version if baseline else None,
        "best_candidate": best.id if best else None,
        "best_version": best.version if best else None,
        "baseline_val_score": (
            state.val_score(baseline) if baseline and "val" in baseline.scores else None
        ),
        "best_val_score": state.val_score(best) if best else None,
        "calls": state.usage.calls,
        "max_metric_calls": config.max_metric_calls if config else 0,
        "reflection_calls": state.usage.reflection_calls,
        "judge_calls": state.usage.judge_calls,
        "test_calls": state.test_calls,
        "cost_usd": state.usage.cost_usd,
        "budget_usd": config.budget_usd if config else None,
        "candidates": len(state.candidates),
        "front_size": len(state.front()),
        "generation": state.generation,
        "error": state.error,
        "promoted": state.promoted,
        "config": config.to_dict() if config else {},
    }


def candidate_dicts(state: Optimization) -> list[dict[str, Any]]:
    """Every candidate's `CandidateInfo` fields, in proposal order."""
    return [c.to_dict(state.split.val) for c in state.candidates.values()]


def unified_diff(a: Candidate, b: Candidate) -> str:
    """A unified diff of two candidates' system message and template."""

    def lines(c: Candidate) -> list[str]:
        return [
            "## system",
            *c.content.system.splitlines(),
            "## template",
            *c.content.template.splitlines(),
        ]

    return "\n".join(difflib.unified_diff(lines(a), lines(b), "baseline", "best", lineterm=""))


def test_data(state: Optimization) -> dict[str, Any] | None:
    """The test split's paired comparison of baseline and best, or None before it ran."""
    baseline, best = state.baseline, state.best()
    if baseline is None or best is None:
        return None
    cases = list(state.split.test)
    if "test" not in baseline.scores or "test" not in best.scores:
        return None
    paired = paired_test(cases, baseline.test_passed, best.test_passed)
    rows = []
    for case_id in cases:
        base_ev, best_ev = baseline.test_evidence.get(case_id), best.test_evidence.get(case_id)
        any_ev = base_ev or best_ev
        rows.append(
            {
                "case_id": case_id,
                "variables": dict(any_ev.variables) if any_ev else {},
                "expected": any_ev.expected if any_ev else None,
                "baseline_output": base_ev.output if base_ev else None,
                "best_output": best_ev.output if best_ev else None,
                "baseline_score": baseline.scores["test"].get(case_id, 0.0),
                "best_score": best.scores["test"].get(case_id, 0.0),
            }
        )
    return {
        "n": paired.n,
        "baseline_score": mean_score(baseline.scores["test"], cases),
        "best_score": mean_score(best.scores["test"], cases),
        "b": paired.b,
        "c": paired.c,
        "p_value": paired.p_value,
        "wins": list(paired.wins),
        "losses": list(paired.losses),
        "cases": rows,
    }


def report_data(state: Optimization, info: Mapping[str, Any]) -> dict[str, Any]:
    """The report's data (the schema of the seam contract)."""
    baseline, best = state.baseline, state.best()
    diff: dict[str, Any] | None = None
    if baseline is not None:
        top = best or baseline
        diff = {
            "baseline": {"system": baseline.content.system, "template": baseline.content.template},
            "best": {"system": top.content.system, "template": top.content.template},
            "unified": unified_diff(baseline, top),
        }
    costs = dict(state.costs)
    return {
        "optimization": dict(info),
        "trajectory": [dict(t) for t in state.trajectory],
        "candidates": candidate_dicts(state),
        "front": state.front(),
        "diff": diff,
        "test": test_data(state),
        "cost": {**costs, "total": sum(costs.values())},
    }
