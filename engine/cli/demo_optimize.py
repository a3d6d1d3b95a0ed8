"""`autoforge demo --optimize`: a baseline run, an optimization, the promoted version.

The simulator's `arithmetic` task family asks questions whose wordy answers fail an exact
match unless the prompt states the family's hidden rules. The demo evaluates the naive
prompt (the baseline run), lets `gepa` reflect on its failures with `openai/sim-reflector`
(every candidate a commit on branch `opt/<id>`), promotes the best to `production` only if
the held-out test split says it is significantly better, then evaluates `production` on
the same cases and compares it with the baseline, pair by pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import output

if TYPE_CHECKING:
    from engine.sdk import Engine

FAMILY = "arithmetic"
PROMPT_NAME = "arithmetic-demo"
DATASET = "arithmetic-demo-cases"
MODEL = "openai/sim-medium"
CASES = 60
MAX_METRIC_CALLS = 300
LABEL = "production"


@dataclass(frozen=True)
class OptimizeOutcome:
    """What the demo did: the two runs, the optimization's info and report data, the
    promotion, the comparison of promoted vs baseline and the HTML report's path."""

    baseline_run: Any
    optimization: Any
    promotion: dict[str, Any]
    promoted_run: Any | None
    comparison: Any | None
    report_path: Path


def optimize_demo(engine: Engine, *, progress: bool) -> OptimizeOutcome:
    """Run the three steps on ``engine`` (simulated models); returns what each gave."""
    from engine.evaluation.evalfile import PromptVersionSpec
    from engine.sdk.evalrun import ensure_dataset, ensure_prompt_versions
    from engine.simulator._families import FAMILIES

    family = FAMILIES[FAMILY]
    messages: tuple[dict[str, str], ...] = ()
    if family.system:
        messages = (
            {"role": "system", "content": family.system},
            {"role": "user", "content": family.template},
        )
    baseline = PromptVersionSpec(
        None if messages else family.template, messages, "naive baseline", {}
    )
    base = ensure_prompt_versions(engine, PROMPT_NAME, [baseline])[0]
    number = ensure_dataset(engine, DATASET, family.cases(n=CASES, seed=0))
    scorers = list(family.scorers)
    common: dict[str, Any] = {
        "prompt": PROMPT_NAME,
        "dataset": DATASET,
        "dataset_version": number,
        "models": [MODEL],
        "scorers": scorers,
    }
    baseline_run = engine.evaluate(**common, versions=[base], name="baseline")
    baseline_run.wait(progress=progress)
    optimization = engine.optimize(
        PROMPT_NAME,
        DATASET,
        [MODEL],
        scorers,
        optimizer="gepa",
        max_metric_calls=MAX_METRIC_CALLS,
        seed=0,
        base=base,
        dataset_version=number,
        name="demo",
    )
    optimization.wait(progress=progress)
    promotion = optimization.promote(LABEL)
    promoted_run = comparison = None
    if promotion.get("promoted"):
        promoted_run = engine.evaluate(**common, versions=[LABEL], name=f"{LABEL} after demo")
        promoted_run.wait(progress=progress)
        comparison = engine.compare(baseline_run, promoted_run)
    path = engine.settings.data_dir / "reports" / f"{optimization.id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(optimization.report("html"), encoding="utf-8")
    return OptimizeOutcome(baseline_run, optimization, promotion, promoted_run, comparison, path)


def outcome_summary(outcome: OptimizeOutcome) -> dict[str, Any]:
    """Machine-readable summary for `demo --optimize --json`."""
    data = outcome.optimization.report_data()
    return {
        "baseline_run": _run_summary(outcome.baseline_run),
        "optimization": data["optimization"],
        "test": data["test"],
        "promotion": outcome.promotion,
        "promoted_run": outcome.promoted_run and _run_summary(outcome.promoted_run),
        "comparison": None if outcome.comparison is None else outcome.comparison.verdict,
        "html_report": str(outcome.report_path),
    }


def _run_summary(run: Any) -> dict[str, Any]:
    group = run.summary().groups[0]
    return {"id": run.id, "status": run.status, "pass_rate": group.pass_rate, "n": group.n_cells}


def print_outcome(outcome: OptimizeOutcome) -> None:
    """The three steps, a few lines each."""
    data = outcome.optimization.report_data()
    info, test = data["optimization"], data["test"]
    _out()
    _out(f"1. Baseline: {_run_line(outcome.baseline_run)}")
    _out(
        f"2. Optimization {info['id']} ({info['optimizer']}, reflection by"
        f" {info['reflection_model']}): {info['status']}; validation score"
        f" {_score(info['baseline_val_score'])} → {_score(info['best_val_score'])};"
        f" {info['calls']}/{info['max_metric_calls']} metric calls"
        f" ({info['reflection_calls']} reflection), {info['candidates']} candidates on"
        f" branch {info['branch']}, cost ${info['cost_usd']:.4f}"
    )
    if test:
        _out(
            f"   held-out test split ({test['n']} cases): baseline {_score(test['baseline_score'])}"
            f" → best {_score(test['best_score'])}, {len(test['wins'])} wins,"
            f" {len(test['losses'])} losses (McNemar p={test['p_value']:.2g})"
        )
    best = next((c for c in data["candidates"] if c["id"] == info["best_candidate"]), None)
    if best is not None and best["kind"] != "baseline":
        _out(f"   best system prompt: {best['system']!r}")
    from engine.cli.optimize import promotion_line

    _out(f"3. {promotion_line(outcome.promotion)}")
    if outcome.promoted_run is not None:
        _out(f"   {LABEL}: {_run_line(outcome.promoted_run)}")
    if outcome.comparison is not None:
        _out(f"   {outcome.comparison.verdict}")
    _out()
    _out(f"Optimization report: {outcome.report_path}")


def _run_line(run: Any) -> str:
    group = run.summary().groups[0]
    rate = "n/a" if group.pass_rate is None else f"{group.pass_rate:.1%}"
    version = group.version_name or group.prompt_version[:12]
    return f"run {run.id} of {version} on {group.model}: {rate} of {group.n_cells} cases pass"


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _out(text: str = "") -> None:
    output.write(text + "\n")
