"""`autoforge eval FILE`, `autoforge run …` and `autoforge dataset …`.

Examples:
    autoforge eval examples/arithmetic/eval.yaml
    autoforge run list
    autoforge run resume run_1234 && autoforge run report run_1234 --format html > r.html
    autoforge dataset import qa-cases cases.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from engine.sdk import DEFAULT_OWNER, Engine


def _out(text: Any) -> None:
    sys.stdout.write(f"{text}\n")


@contextmanager
def _engine(args: argparse.Namespace, simulator: bool = False) -> Any:
    with Engine(owner=args.owner, simulator=simulator) as engine:
        yield engine


def _eval(args: argparse.Namespace) -> int:
    from engine.demo import _print_outcome
    from engine.evaluation.evalfile import load_eval_file
    from engine.evaluation.evalrun import outcome_summary, run_eval_file

    spec = load_eval_file(args.file)
    with _engine(args, simulator=spec.simulator) as engine:
        started = time.perf_counter()
        outcome = run_eval_file(engine, spec, progress=not args.json)
        if args.json:
            _out(json.dumps(outcome_summary(outcome), indent=2, default=str))
        else:
            _print_outcome(outcome, time.perf_counter() - started)
        return 0 if outcome.run.status == "completed" else 1


def _run_list(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        runs = engine.evaluations.runs.list_runs(engine.owner, limit=args.limit)
        if args.json:
            _out(json.dumps([r.to_dict() for r in runs], indent=2))
        for r in [] if args.json else runs:
            _out(f"{r.id}  {r.status.value:<16} {r.total_cells:>7} cells  {r.created_at[:19]}")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        run = engine.run(args.run)
        if not run.info().status.terminal():
            run.progress()  # asks the scheduler, which marks a run nobody works `interrupted`
        info = run.info()
        recorded = engine.evaluations.runs.recorded_count(run.id)
        data = {**info.to_dict(), "recorded_cells": recorded}
        _out(
            json.dumps(data, indent=2)
            if args.json
            else f"{run.id}: {info.status.value}, {recorded}/{info.total_cells} cells recorded"
            + (f", {info.over_budget_cells} over budget" if info.over_budget_cells else "")
            + (f" ({info.error})" if info.error else "")
        )
    return 0


def _run_resume(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        run = engine.resume(args.run, budget=args.budget, concurrency=args.concurrency)
        info = run.wait(progress=not args.json)
        _out(
            json.dumps(info.to_dict(), indent=2)
            if args.json
            else f"{info.id}: {info.status.value}" + (f" ({info.error})" if info.error else "")
        )
        return 0 if info.status.value == "completed" else 1


def _run_cancel(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        engine.evaluations.cancel(args.run)
        _out(f"{args.run}: cancel requested")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        _out(engine.run(args.run).report(args.format))
    return 0


def _dataset_import(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        version = engine.datasets.import_file(args.dataset, args.file, skip_bad=args.skip_bad)
        if args.json:
            _out(json.dumps({**version.__dict__, "skipped": [e.__dict__ for e in version.skipped]}))
        else:
            _out(
                f"{args.dataset} v{version.number}: {version.case_count} cases "
                f"(sha256 {version.content_hash[:12]})"
            )
            for error in version.skipped:
                _out(f"  skipped line {error.line}: {error.message}")
    return 0


def _dataset_list(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        for d in engine.datasets.list():
            _out(f"{d.name}  v{d.latest_version}  {d.id}")
    return 0


def _dataset_export(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        sys.stdout.write(engine.datasets.export(args.dataset, args.format, args.version))
    return 0


def register(subparsers: Any) -> None:
    """Add `eval`, `run` and `dataset` to the `autoforge` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--owner", default=DEFAULT_OWNER, help="act as this user")

    def add(
        group: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    add(subparsers, "eval", _eval, "run an eval file (prompts × models × dataset)").add_argument(
        "file", help="path of the eval YAML file"
    )

    runs = subparsers.add_parser("run", help="evaluation runs: list, show, resume, cancel, report")
    run_sub = runs.add_subparsers(dest="run_command", required=True, metavar="ACTION")
    add(run_sub, "list", _run_list, "recent runs").add_argument("--limit", type=int, default=20)
    for name, handler, text in (
        ("show", _run_show, "status of a run"),
        ("resume", _run_resume, "continue a stopped or interrupted run"),
        ("cancel", _run_cancel, "stop a running run"),
    ):
        add(run_sub, name, handler, text).add_argument("run")
    resume = run_sub.choices["resume"]
    resume.add_argument(
        "--budget", type=float, default=None, help="new cap in USD for the whole run"
    )
    resume.add_argument(
        "--concurrency", type=int, default=None, help="calls in flight at once (default: the run's)"
    )
    report = add(run_sub, "report", _run_report, "print a run's report")
    report.add_argument("run")
    report.add_argument("--format", choices=("markdown", "json", "html"), default="markdown")

    datasets = subparsers.add_parser("dataset", help="datasets: import, list, export")
    ds_sub = datasets.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    imp = add(ds_sub, "import", _dataset_import, "import a JSONL or CSV file as a new version")
    imp.add_argument("dataset")
    imp.add_argument("file")
    imp.add_argument("--skip-bad", action="store_true", help="skip bad rows instead of failing")
    add(ds_sub, "list", _dataset_list, "your datasets")
    exp = add(ds_sub, "export", _dataset_export, "write a version as JSONL or CSV to stdout")
    exp.add_argument("dataset")
    exp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    exp.add_argument("--version", type=int, default=None)
