"""`autoforge eval`'s CI gates: ``--fail-under``, ``--baseline … --fail-on-regression``,
``--junit`` and ``--markdown``.

`plan_gates` checks the flags and finds the baseline before the engine starts (a mistake
exits 2 in a second); `check_gates` holds the finished run to them.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ValidationError
from domain.reports import (
    Comparison,
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
from domain.scoring import ScorerSpec

if TYPE_CHECKING:
    from engine.evaluation.evalfile import EvalFile
    from engine.sdk import Engine
    from engine.sdk.baselines import Baseline
    from engine.sdk.evalrun import EvalOutcome

EXIT_CODES = """exit codes:
  0  the run completed and every gate passed
  1  a gate failed, or the run did not complete (budget, cancelled, failed)
  2  a usage or configuration mistake: bad flags, eval file, model or baseline"""


@dataclass(frozen=True)
class GatePlan:
    """What the finished run is held to and where the CI files go."""

    thresholds: tuple[Threshold, ...] = ()
    baseline: Baseline | None = None
    fail_on_regression: bool = False
    alpha: float = 0.05
    junit: Path | None = None
    markdown: Path | None = None


@dataclass(frozen=True)
class GateOutcome:
    """The gates' results and the comparisons with the baseline (one per model)."""

    gates: tuple[GateResult, ...]
    comparisons: tuple[Comparison, ...]

    @property
    def passed(self) -> bool:
        return all_passed(self.gates)


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """``--fail-under``, ``--baseline``, ``--fail-on-regression``, ``--alpha``, ``--junit``,
    ``--markdown``."""
    parser.epilog = EXIT_CODES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="[NAME=]X",
        help="exit 1 when the run's pass rate (X) or scorer NAME's mean value (NAME=X; an "
        "errored cell counts 0) is below X, 0..1; repeatable",
    )
    parser.add_argument(
        "--baseline",
        metavar="RUN_ID|REF",
        default=None,
        help="compare with this run, or with the newest completed run of the prompt's "
        "version REF names (a label such as production, a branch, v3); paired by case "
        "and model, McNemar",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when the baseline is significantly better (p < --alpha) on a model",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="significance level (default 0.05)"
    )
    parser.add_argument(
        "--junit", type=Path, default=None, metavar="PATH", help="write JUnit XML here"
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a PR-comment summary (Markdown) here",
    )


def plan_gates(args: argparse.Namespace, spec: EvalFile) -> GatePlan:
    """The gates of ``args`` for ``spec``, checked; the baseline found in the database.

    Raises:
        ValidationError: a malformed threshold, an unknown scorer name, a bad alpha, an
            output path that is a directory, ``--fail-on-regression`` without a baseline.
        NotFoundError: an unknown baseline.
    """
    thresholds = tuple(parse_threshold(text) for text in args.fail_under)
    names = {ScorerSpec.from_dict(s).name for s in spec.scorers}
    names |= {own["name"] for case in spec.cases for own in case.scorers}  # imported suites
    check_scorer_names(thresholds, names)
    if not 0 < args.alpha < 1:
        raise ValidationError(f"--alpha {args.alpha}: not between 0 and 1", reason="bad-gate")
    if args.fail_on_regression and args.baseline is None:
        raise ValidationError("--fail-on-regression needs --baseline", reason="usage")
    for flag, path in (("--junit", args.junit), ("--markdown", args.markdown)):
        if path is not None and path.is_dir():
            raise ValidationError(f"{flag} {path}: is a directory", reason="usage")
    return GatePlan(
        thresholds=thresholds,
        baseline=None if args.baseline is None else _baseline(args, spec),
        fail_on_regression=args.fail_on_regression,
        alpha=args.alpha,
        junit=args.junit,
        markdown=args.markdown,
    )


def _baseline(args: argparse.Namespace, spec: EvalFile) -> Baseline:
    from engine.local_db import open_database
    from engine.sdk.baselines import find_baseline

    with open_database() as db:
        return find_baseline(db, args.owner, spec.prompt_name, args.baseline)


def check_gates(engine: Engine, plan: GatePlan, outcome: EvalOutcome) -> GateOutcome:
    """Hold the finished run to ``plan``: completed, thresholds, then no regression."""
    info = outcome.run.info()
    records = outcome.run.records()
    gates = [completed_gate(info.status.value, info.error)]
    gates += [threshold_gate(records, t) for t in plan.thresholds]
    comparisons: tuple[Comparison, ...] = ()
    if plan.baseline is not None:
        candidate = info.spec.prompt_versions[-1]
        name = outcome.run.version_names().get(candidate) or candidate[:12]
        comparisons = baseline_comparisons(
            engine.run(plan.baseline.run_id).records(),
            records,
            baseline_version=plan.baseline.version_id,
            candidate_version=candidate,
            labels=(f"baseline {plan.baseline.run_id}", name),
            alpha=plan.alpha,
        )
        if plan.fail_on_regression:
            gates.append(regression_gate(comparisons, plan.alpha))
    return GateOutcome(tuple(gates), comparisons)


def write_ci_files(plan: GatePlan, outcome: EvalOutcome, gated: GateOutcome, title: str) -> None:
    """The JUnit XML and the PR comment, where the plan says."""
    from engine.reports import to_junit, to_pr_comment

    run = outcome.run
    if plan.junit is not None:
        xml = to_junit(run.records(), gated.gates, version_names=run.version_names(), name=title)
        _write(plan.junit, xml)
    if plan.markdown is not None:
        baseline = None if plan.baseline is None else plan.baseline.label
        comment = to_pr_comment(
            run.summary(),
            gated.gates,
            gated.comparisons,
            title=f"{title} ({run.id})",
            baseline=baseline,
        )
        _write(plan.markdown, comment)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            f"cannot write {path}: {exc.strerror or exc}", reason="usage"
        ) from None


def gate_lines(gated: GateOutcome) -> list[str]:
    """The gates and comparisons as the terminal shows them."""
    lines = [f"  {c.label_b:<30} {c.verdict}" for c in gated.comparisons]
    lines = (["Against the baseline (paired, same cases):", *lines, ""] if lines else []) + [
        "Gates:"
    ]
    for gate in gated.gates:
        mark = "ok  " if gate.passed else "FAIL"
        detail = f"  ({gate.detail})" if gate.detail else ""
        lines.append(f"  [{mark}] {gate.name}: {gate.actual} (needs {gate.threshold}){detail}")
    return lines


def gates_summary(gated: GateOutcome) -> dict[str, Any]:
    """The gates for `--json`."""
    return {"passed": gated.passed, "gates": [asdict(g) for g in gated.gates]}
