"""The sections of an optimization's report as plain text, built once: the Markdown and HTML
layouts (`_optimization_pages`) only escape and arrange them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from domain.reports import format_p
from engine.reports._format import DASH, clip, number, short_version, usd

DEFAULT_ALPHA = 0.05
TEXT_LIMIT = 200
RATIONALE_LIMIT = 300
TRAJECTORY_ROWS = 20
LINEAGE_COLUMNS = (
    "Candidate",
    "Parents",
    "Kind",
    "Decision",
    "Minibatch (parent → it)",
    "Val score",
    "Calls at",
    "Version",
    "Rationale",
)
FRONT_COLUMNS = ("Candidate", "Version", "Kind", "Val score", "Rationale")
HELD_OUT_COLUMNS = (
    "Case",
    "Outcome",
    "Variables",
    "Expected",
    "Baseline output",
    "Best output",
    "Scores (baseline → best)",
)
COST_COLUMNS = ("Part", "Cost (USD)")
COST_PARTS = (
    ("candidates", "Candidate evaluations"),
    ("reflection", "Reflection calls"),
    ("judges", "Judge calls"),
    ("test", "Test split (baseline and best)"),
    ("total", "Total"),
)


def title(data: Mapping[str, Any]) -> str:
    """``Optimization opt_… (name)``."""
    info = data.get("optimization") or {}
    name = info.get("name") or ""
    return f"Optimization {info.get('id', '')}" + (f" ({name})" if name else "")


def summary_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """Key/value rows: what was optimized, how far it got and what it cost."""
    info = data.get("optimization") or {}
    calls = f"{info.get('calls', 0):,} / {info.get('max_metric_calls', 0):,}"
    cost = usd(float(info.get("cost_usd") or 0.0))
    if info.get("budget_usd") is not None:
        cost += f" / {usd(float(info['budget_usd']))}"
    rows = [
        ("Status", str(info.get("status", DASH)) + _error(info)),
        ("Prompt", str(info.get("prompt_name") or info.get("prompt_id") or DASH)),
        ("Optimizer", str(info.get("optimizer", DASH))),
        ("Models", ", ".join(info.get("models") or ()) or DASH),
        ("Reflection model", str(info.get("reflection_model") or DASH)),
        ("Validation score", _change(info.get("baseline_val_score"), info.get("best_val_score"))),
        ("Best candidate", _best(info)),
        ("Metric calls (used / max)", calls),
        ("Reflection calls", f"{info.get('reflection_calls', 0):,}"),
        ("Judge calls", f"{info.get('judge_calls', 0):,}"),
        ("Test calls (outside the max and budget)", f"{info.get('test_calls', 0):,}"),
        ("Cost (used / budget)", cost),
        ("Candidates", f"{info.get('candidates', 0):,} in {info.get('generation', 0):,} gen."),
        ("Pareto front", f"{info.get('front_size', 0):,}"),
        ("Branch", str(info.get("branch") or DASH)),
    ]
    return [[key, value] for key, value in rows]


def _error(info: Mapping[str, Any]) -> str:
    return f" ({info['error']})" if info.get("error") else ""


def _best(info: Mapping[str, Any]) -> str:
    if not info.get("best_candidate"):
        return DASH
    return f"{info['best_candidate']} ({short_version(str(info.get('best_version') or ''))})"


def _change(before: float | None, after: float | None) -> str:
    return f"{number(before)} → {number(after)}"


def trajectory_points(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trajectory's points sorted by calls, each where the best score changed (and the
    last): the shape of the curve without its flat stretches."""
    points = sorted(data.get("trajectory") or (), key=lambda p: p.get("calls", 0))
    kept: list[dict[str, Any]] = []
    for point in points:
        if kept and point.get("best_val_score") == kept[-1].get("best_val_score"):
            continue
        kept.append(point)
    if points and kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def trajectory_rows(data: Mapping[str, Any], limit: int = TRAJECTORY_ROWS) -> list[list[str]]:
    """At most ``limit`` rows of the best score against metric calls (first and last kept)."""
    points = trajectory_points(data)
    if len(points) > limit:
        step = (len(points) - 1) / (limit - 1)
        points = [points[round(i * step)] for i in range(limit)]
    return [
        [f"{p.get('calls', 0):,}", number(p.get("best_val_score")), str(p.get("candidate", DASH))]
        for p in points
    ]


def decision(candidate: Mapping[str, Any]) -> str:
    """``baseline``, ``accepted``, ``rejected`` or ``pending``."""
    if candidate.get("kind") == "baseline":
        return "baseline"
    accepted = candidate.get("accepted")
    return "pending" if accepted is None else "accepted" if accepted else "rejected"


def lineage_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """Every candidate with its parents, decision, scores and rationale."""
    return [
        [
            str(c.get("id", DASH)),
            ", ".join(c.get("parent_ids") or ()) or DASH,
            str(c.get("kind", DASH)),
            decision(c),
            _minibatch(c),
            number(c.get("val_score")),
            f"{c.get('calls_at', 0):,}" if c.get("calls_at") is not None else DASH,
            short_version(str(c.get("version") or DASH)),
            clip(" ".join(str(c.get("rationale") or "").split()), RATIONALE_LIMIT) or DASH,
        ]
        for c in data.get("candidates") or ()
    ]


def _minibatch(candidate: Mapping[str, Any]) -> str:
    child, parent = candidate.get("minibatch_score"), candidate.get("parent_minibatch_score")
    if child is None:
        return DASH
    return f"{number(parent, 2)} → {number(child, 2)}"


def front_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """The Pareto front's members, best validation score first."""
    by_id = {c.get("id"): c for c in data.get("candidates") or ()}
    members = [by_id.get(cid) or {"id": cid} for cid in data.get("front") or ()]
    members.sort(key=lambda c: -(c.get("val_score") or 0.0))
    return [
        [
            str(c.get("id", DASH)),
            short_version(str(c.get("version") or DASH)),
            str(c.get("kind", DASH)),
            number(c.get("val_score")),
            clip(" ".join(str(c.get("rationale") or "").split()), RATIONALE_LIMIT) or DASH,
        ]
        for c in members
    ]


def held_out_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """The test split's wins (best passes where the baseline fails) then its losses."""
    test = data.get("test") or {}
    cases = {c.get("case_id"): c for c in test.get("cases") or ()}
    rows = []
    for outcome, ids in (("win", test.get("wins") or ()), ("loss", test.get("losses") or ())):
        for case_id in ids:
            case = cases.get(case_id) or {}
            variables = case.get("variables")
            rows.append(
                [
                    str(case_id),
                    outcome,
                    clip(_json(variables), TEXT_LIMIT) if variables else DASH,
                    clip(_text(case.get("expected")), TEXT_LIMIT),
                    clip(_text(case.get("baseline_output")), TEXT_LIMIT),
                    clip(_text(case.get("best_output")), TEXT_LIMIT),
                    _change(case.get("baseline_score"), case.get("best_score")),
                ]
            )
    return rows


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def held_out_summary(data: Mapping[str, Any]) -> str:
    """One sentence on the test split, or why there is none yet."""
    test = data.get("test")
    if not test:
        return "The test split has not been evaluated yet (the optimization has not finished)."
    p_value = test.get("p_value")
    p = DASH if p_value is None else format_p(float(p_value))
    return (
        f"{test.get('n', 0):,} held-out cases: baseline {number(test.get('baseline_score'))},"
        f" best {number(test.get('best_score'))}; best wins {len(test.get('wins') or ()):,},"
        f" loses {len(test.get('losses') or ()):,} (exact McNemar {p})."
    )


def promotion(data: Mapping[str, Any]) -> str:
    """The promotion outcome in one sentence ("no significant improvement" when not)."""
    info = data.get("optimization") or {}
    promoted, test = info.get("promoted"), data.get("test")
    if promoted:
        p_value = promoted.get("p_value")
        p = "" if p_value is None else f" ({format_p(float(p_value))})"
        version = short_version(str(promoted.get("version", "")))
        return f"Promoted: label {promoted.get('label')!s} now points to {version}{p}."
    if not test:
        return "Not promoted: the test split has not been evaluated yet."
    alpha = float((info.get("config") or {}).get("alpha") or DEFAULT_ALPHA)
    p_value = test.get("p_value")
    wins, losses = len(test.get("wins") or ()), len(test.get("losses") or ())
    if p_value is not None and float(p_value) < alpha and wins > losses:
        return (
            f"Significant improvement on the test split ({format_p(float(p_value))},"
            f" α = {alpha:g}); not promoted yet: promote it to move a label."
        )
    p = DASH if p_value is None else format_p(float(p_value))
    return f"No significant improvement on the test split ({p}, α = {alpha:g}): no label moves."


def cost_rows(data: Mapping[str, Any]) -> list[list[str]]:
    """What each part of the optimization cost."""
    cost = data.get("cost") or {}
    return [[name, usd(float(cost.get(key) or 0.0))] for key, name in COST_PARTS]


def diff_parts(data: Mapping[str, Any]) -> tuple[str, Sequence[str]]:
    """The unified diff of best vs baseline and its lines (``""``: the best is the baseline)."""
    unified = str((data.get("diff") or {}).get("unified") or "")
    return unified, unified.splitlines()
