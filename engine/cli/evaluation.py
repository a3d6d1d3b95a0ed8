"""`autoforge eval FILE`, `autoforge run …` and `autoforge dataset …`.

Examples:
    autoforge eval examples/arithmetic/eval.yaml
    autoforge eval examples/arithmetic/eval.yaml --fail-under 0.8 --junit junit.xml
    autoforge run list
    autoforge run feedback run_1234 c1 --verdict fail --comment 'wrong capital'
    autoforge run corrections run_1234 --dataset qa-cases --include-failed c7
    autoforge run resume run_1234 && autoforge run report run_1234 --format html > r.html
    autoforge dataset import qa-cases cases.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from domain.errors import NotFoundError
from domain.evaluation import ROUTINGS
from engine import timings
from engine.cli import output
from engine.cli.acting import add_acting, engine_options
from engine.local_db import open_database

if TYPE_CHECKING:
    from sqlalchemy import Engine as DbEngine

    from engine.sdk import Engine


def _out(text: Any) -> None:
    output.write(f"{text}\n")


@contextmanager
def _engine(args: argparse.Namespace, simulator: bool = False) -> Iterator[Engine]:
    """The whole engine (Ray, Redis, scheduler): only for commands that run cells."""
    from engine.sdk import Engine

    with Engine(**engine_options(args), simulator=simulator) as engine:
        yield engine


def _eval(args: argparse.Namespace) -> int:
    from engine.cli.eval_gates import check_gates, plan_gates, write_ci_files
    from engine.cli.interop import eval_spec
    from engine.cli.preflight import check_eval_file
    from engine.cli.usage import refused_as_usage
    from engine.settings import load_settings

    with refused_as_usage():
        spec = eval_spec(args)
        if args.routing is not None:
            spec = replace(spec, routing=args.routing)
        check_eval_file(spec, load_settings())
        plan = plan_gates(args, spec)
    from engine.sdk.evalrun import run_eval_file

    if args.timings:
        timings.enable()
    try:
        with _engine(args, simulator=spec.simulator) as engine:
            started = time.perf_counter()
            outcome = run_eval_file(engine, spec, progress=not args.json)
            gated = check_gates(engine, plan, outcome)
            write_ci_files(plan, outcome, gated, spec.name or spec.prompt_name)
            _print_eval(args, outcome, gated, time.perf_counter() - started)
            return 0 if gated.passed else 1
    finally:
        if args.timings:  # after the engine stopped: teardown is a phase too
            sys.stderr.write(timings.table() + "\n")


def _print_eval(args: argparse.Namespace, outcome: Any, gated: Any, elapsed: float) -> None:
    from engine.cli.demo import _print_outcome
    from engine.cli.eval_gates import gate_lines, gates_summary
    from engine.reports import to_json
    from engine.sdk.evalrun import outcome_summary

    if args.json:
        summary = {
            **outcome_summary(outcome),
            **gates_summary(gated),
            "baseline_comparisons": [json.loads(to_json(c)) for c in gated.comparisons],
        }
        _out(json.dumps(summary, indent=2, default=str))
        return
    _print_outcome(outcome, elapsed)
    _out("")
    for line in gate_lines(gated):
        _out(line)


def _run_list(args: argparse.Namespace) -> int:
    from engine.evaluation.runs import RunStore

    with open_database() as db:
        runs = RunStore(db).list_runs(args.owner, limit=args.limit)
        names = [_version_names(db, args.owner, r) for r in runs]
    if args.json:
        listed = [{**r.to_dict(), "versions": n} for r, n in zip(runs, names, strict=True)]
        _out(json.dumps(listed, indent=2))
    for r, n in [] if args.json else zip(runs, names, strict=True):
        _out(
            f"{r.id}  {r.status.value:<16} {r.total_cells:>7} cells  {r.created_at[:19]}"
            f"  {', '.join(n)}" + (f"  {r.name}" if r.name else "")
        )
    return 0


def _version_names(db: DbEngine, owner: str, info: Any) -> list[str]:
    """``["v1", "v2 (production)"]``: how a person names the run's versions, in run order."""
    from engine.prompts.queries import PromptQueries

    try:
        queries = PromptQueries(db, owner)
        known = queries.version_names(info.spec.prompt_id, list(info.spec.prompt_versions))
    except NotFoundError:  # the prompt is gone: its ids are all there is
        known = {}
    return [known.get(v, v[:12]) for v in info.spec.prompt_versions]


def _run_show(args: argparse.Namespace) -> int:
    from engine.evaluation.runs import RunStore

    with open_database() as db:
        store = RunStore(db)
        info = store.get(args.owner, args.run)
        recorded = store.recorded_count(info.id)
        versions = _version_names(db, args.owner, info)
    if args.json:
        data = {**info.to_dict(), "recorded_cells": recorded, "versions": versions}
        _out(json.dumps(data, indent=2))
        return 0
    unworked = not info.status.terminal() and not _engine_running()
    _out(
        f"{info.id}{f' ({info.name})' if info.name else ''}: {', '.join(versions)}; "
        f"{info.status.value}, {recorded}/{info.total_cells} cells recorded"
        + (f", {info.over_budget_cells} over budget" if info.over_budget_cells else "")
        + (f" ({info.error})" if info.error else "")
        + (f"; no engine works it: `autoforge run resume {info.id}`" if unworked else "")
    )
    return 0


def _engine_running() -> bool:
    """Whether an engine process serves this data dir (or a cluster is configured), which
    could be working a run the database shows unfinished."""
    from engine.data_dir import published_owner
    from engine.settings import load_settings

    settings = load_settings()
    return settings.ray_address is not None or published_owner(settings.data_dir) is not None


def _check_run(args: argparse.Namespace) -> None:
    """Refuse an unknown run from the database, before starting the engine for it."""
    from engine.evaluation.runs import RunStore

    with open_database() as db:
        RunStore(db).get(args.owner, args.run)


def _run_resume(args: argparse.Namespace) -> int:
    from domain.evaluation import check_budget

    if args.budget is not None:
        check_budget(args.budget)
    _check_run(args)
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
    _check_run(args)
    with _engine(args) as engine:
        engine.evaluations.cancel(args.run)
        _out(f"{args.run}: cancel requested")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from domain.feedback import as_effective, feedback_report, with_feedback
    from domain.flows import step_report
    from domain.reports import summarize
    from engine.evaluation.feedback import FeedbackStore
    from engine.evaluation.runs import RunStore
    from engine.reports import render

    with open_database() as db:
        store = RunStore(db)
        records = store.results(args.owner, args.run)
        feedbacks = FeedbackStore(db, store).for_run(args.owner, args.run)
        scorers = store.get(args.owner, args.run).spec.scorers
    effective = [as_effective(r) for r in with_feedback(records, feedbacks)]
    feedback = feedback_report(records, feedbacks, scorers)
    html = args.format == "html"
    _out(
        render(
            summarize(effective),
            args.format,
            title=f"Run {args.run}",
            feedback=feedback,
            steps=step_report(records) if html else (),
            traces=records if html else (),
        )
    )
    return 0


def _run_feedback(args: argparse.Namespace) -> int:
    from engine.evaluation.feedback import FeedbackStore
    from engine.evaluation.runs import RunStore

    with open_database() as db:
        given = FeedbackStore(db, RunStore(db)).add(
            args.owner,
            args.run,
            args.case,
            version=args.version,
            model=args.model,
            repeat=args.repeat,
            verdict=args.verdict,
            score=args.score,
            correction=args.correction,
            comment=args.comment,
            tags=tuple(args.tag),
            author=args.user,
        )
    if args.json:
        _out(json.dumps(given.to_dict(), indent=2))
    else:
        said = given.verdict or ("comment" if given.score is None else f"score {given.score:g}")
        _out(
            f"{given.run_id} {given.case_id} #{given.repeat} ({given.prompt_version[:12]},"
            f" {given.model}): {said} recorded"
        )
    return 0


def _run_corrections(args: argparse.Namespace) -> int:
    from engine.evaluation.corrections import corrections_to_dataset
    from engine.evaluation.datasets import DatasetStore
    from engine.evaluation.feedback import FeedbackStore
    from engine.evaluation.runs import RunStore

    with open_database() as db:
        version = corrections_to_dataset(
            FeedbackStore(db, RunStore(db)),
            DatasetStore(db),
            args.owner,
            args.run,
            args.dataset,
            include_failed=tuple(args.include_failed),
            note=args.note,
        )
    if args.json:
        _out(json.dumps({**version.__dict__, "skipped": []}))
    else:
        _out(
            f"{args.dataset} v{version.number}: {version.case_count} cases "
            f"(sha256 {version.content_hash[:12]}) from run {args.run}"
        )
    return 0


@contextmanager
def _datasets(args: argparse.Namespace) -> Iterator[Any]:
    from engine.evaluation.datasets import DatasetStore
    from engine.sdk.datasets import Datasets

    with open_database() as db:
        yield Datasets(DatasetStore(db), args.owner)


def _dataset_import(args: argparse.Namespace) -> int:
    with _datasets(args) as datasets:
        version = datasets.import_file(args.dataset, args.file, skip_bad=args.skip_bad)
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
    with _datasets(args) as datasets:
        for d in datasets.list():
            _out(f"{d.name}  v{d.latest_version}  {d.id}")
    return 0


def _dataset_export(args: argparse.Namespace) -> int:
    with _datasets(args) as datasets:
        output.write(datasets.export(args.dataset, args.format, args.version))
    return 0


def register(subparsers: Any) -> None:
    """Add `eval`, `run` and `dataset` to the `autoforge` parser."""
    from engine.cli.eval_gates import add_gate_arguments

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)

    def add(
        group: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    evaluate = add(subparsers, "eval", _eval, "run an eval file (prompts × models × dataset)")
    evaluate.description = (
        "Run an eval file (or a promptfoo / OpenAI Evals suite) and hold the run to its gates: "
        "exit 1 when one fails (CI)."
    )
    evaluate.add_argument("file", help="path of the eval YAML file, or of a promptfoo config")
    evaluate.add_argument(
        "--routing",
        choices=ROUTINGS,
        default=None,
        help="fixed calls every model; cheapest / lowest-latency route each call among them "
        "(default: the file's routing, else fixed)",
    )
    evaluate.add_argument(
        "--timings",
        action="store_true",
        help="print how long each phase took (start-up, first result, teardown) to stderr",
    )
    add_gate_arguments(evaluate)

    from engine.cli import interop

    interop.add_suite_flags(evaluate)
    interop.register(subparsers, common)

    runs = subparsers.add_parser(
        "run", help="evaluation runs: list, show, resume, cancel, feedback, corrections, report"
    )
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
    feedback = add(run_sub, "feedback", _run_feedback, "give feedback on one recorded cell")
    feedback.add_argument("run")
    feedback.add_argument("case", help="the cell's case id")
    feedback.add_argument("--verdict", choices=("pass", "fail"), default=None)
    feedback.add_argument("--score", type=float, default=None, help="a score within [0, 1]")
    feedback.add_argument("--comment", default=None)
    feedback.add_argument("--correction", default=None, help="what the output should have been")
    feedback.add_argument("--tag", action="append", default=[], help="a label (repeatable)")
    feedback.add_argument("--version", default=None, help="prompt version id or prefix")
    feedback.add_argument("--model", default=None, help="the cell's model")
    feedback.add_argument("--repeat", type=int, default=0)
    corrections = add(
        run_sub, "corrections", _run_corrections, "add a run's corrections to a dataset version"
    )
    corrections.add_argument("run")
    corrections.add_argument(
        "--dataset", required=True, help="dataset name (created when missing) or id"
    )
    corrections.add_argument(
        "--include-failed",
        action="extend",
        nargs="+",
        default=[],
        metavar="CASE",
        help="failing case ids to add too (their expected output as it is)",
    )
    corrections.add_argument("--note", default="", help="the new version's note")
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
