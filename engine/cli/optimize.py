"""`autoforge optimize FILE` and `autoforge optimizations list|show|resume|cancel|promote|report`.

Examples:
    autoforge optimize examples/optimize/optimize.yaml --max-metric-calls 200 --promote production
    autoforge optimizations list
    autoforge optimizations report opt_1234 --format html --out report.html
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ValidationError
from engine.cli import output
from engine.cli.acting import add_acting, engine_options

if TYPE_CHECKING:
    from engine.cli.optimize_file import OptimizeFile
    from engine.reports import ReportFormat
    from engine.sdk import Engine

FORMATS = ("markdown", "json", "html")
SUCCESS = ("completed", "budget-exceeded")
"""Statuses of an optimization that ran to one of its limits: the report is final."""


def _out(text: Any) -> None:
    output.write(f"{text}\n")


def _err(text: str) -> None:
    import sys

    sys.stderr.write(f"{text}\n")


@contextmanager
def _engine(args: argparse.Namespace, simulator: bool = False) -> Iterator[Engine]:
    from engine.sdk import Engine

    with Engine(**engine_options(args), simulator=simulator) as engine:
        yield engine


def _spec(args: argparse.Namespace) -> OptimizeFile:
    """The file with the command line's overrides applied."""
    from engine.cli.optimize_file import load_optimize_file

    spec = load_optimize_file(args.file)
    overrides = {
        "max_metric_calls": args.max_metric_calls,
        "budget": args.budget,
        "optimizer": args.optimizer,
        "seed": args.seed,
    }
    return replace(spec, **{k: v for k, v in overrides.items() if v is not None})


def _preflight(spec: OptimizeFile) -> None:
    """Refuse what the file alone shows wrong before starting any service (~seconds saved)."""
    from engine.cli.preflight import _catalogue
    from engine.sdk.evalrun import read_rows
    from engine.settings import load_settings

    if spec.dataset_path is not None:
        try:
            read_rows(spec.dataset_path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(
                f"optimize file dataset: cannot read {spec.dataset_path}: {exc}",
                reason="bad-optimize-file",
                field="dataset",
            ) from None
    catalogue = _catalogue(load_settings(), spec.simulator)
    for model in (*spec.models, *([spec.reflection_model] if spec.reflection_model else [])):
        catalogue.model(model)


def start(engine: Engine, spec: OptimizeFile, *, idempotency_key: str | None = None) -> Any:
    """Ensure the file's baseline and dataset exist, then start its optimization."""
    from engine.sdk.evalrun import ensure_dataset, ensure_prompt_versions, read_rows

    base = spec.base
    if spec.baseline is not None:
        base = ensure_prompt_versions(engine, spec.prompt_name, [spec.baseline])[0]
    dataset_version = spec.dataset_version
    if spec.dataset_path is not None:
        rows = read_rows(spec.dataset_path)
        dataset_version = ensure_dataset(engine, spec.dataset_name, rows)
    return engine.optimize(
        spec.prompt_name,
        spec.dataset_name,
        list(spec.models),
        list(spec.scorers),
        optimizer=spec.optimizer,
        reflection_model=spec.reflection_model,
        max_metric_calls=spec.max_metric_calls,
        budget=spec.budget,
        split=spec.split,
        minibatch=spec.minibatch,
        seed=spec.seed,
        concurrency=spec.concurrency,
        parallel=spec.parallel,
        base=base,
        dataset_version=dataset_version,
        name=spec.name,
        idempotency_key=idempotency_key,
        options=spec.options or None,
        patience=spec.patience,
        allow_code=True,  # the file is the user's own: its code assertions may run
    )


def _optimize(args: argparse.Namespace) -> int:
    spec = _spec(args)
    _preflight(spec)
    fmt: ReportFormat = "json" if args.json else args.format
    with _engine(args, simulator=spec.simulator) as engine:
        optimization = start(engine, spec)
        _err(f"optimization {optimization.id} started on branch opt/{optimization.id}")
        try:
            info = optimization.wait(progress=not args.json)
        except KeyboardInterrupt:
            _err(f"resume it with: autoforge optimizations resume {optimization.id}")
            raise
        promoted = optimization.promote(args.promote, args.alpha) if args.promote else None
        _deliver(args, optimization.report(fmt), fmt)
        if promoted is not None:
            _err(promotion_line(promoted))
        return 0 if info.status in SUCCESS else 1


def promotion_line(result: dict[str, Any]) -> str:
    """``label production → 3f2a1b9c0d4e (p=0.0004)`` or why nothing moved."""
    p_value = result.get("p_value")
    p = "" if p_value is None else f" (p={p_value:.2g})"
    if result.get("promoted"):
        return f"promoted: label {result['label']} → {str(result.get('version'))[:12]}{p}"
    return f"not promoted: {result.get('reason') or 'no significant improvement'}{p}"


def _deliver(args: argparse.Namespace, text: str, fmt: str) -> None:
    if args.out:
        path = Path(args.out)
        path.write_text(text, encoding="utf-8")
        _err(f"{fmt} report written to {path}")
    else:
        output.write(text if text.endswith("\n") else text + "\n")


def _status_line(info: Any) -> str:
    best = "–" if info.best_val_score is None else f"{info.best_val_score:.3f}"
    baseline = "–" if info.baseline_val_score is None else f"{info.baseline_val_score:.3f}"
    parts = [
        f"{info.id}{f' ({info.name})' if info.name else ''}: {info.status}",
        f"{info.optimizer} on {info.prompt_name}",
        f"val {baseline} → {best}",
        f"{info.calls}/{info.max_metric_calls} calls",
        f"{info.candidates} candidates, front {info.front_size}",
        f"${info.cost_usd:.4f}",
    ]
    if info.promoted:
        parts.append(f"promoted to {info.promoted.get('label')}")
    return ", ".join(parts) + (f" ({info.error})" if info.error else "")


def _list(args: argparse.Namespace) -> int:
    # The database alone (~1 s, beside a live engine too), like `run list`.
    from engine.local_db import open_database
    from engine.optimization.store import OptimizationStore
    from engine.sdk.optimizations import stored_info

    with open_database() as db:
        store = OptimizationStore(db)
        rows = store.list_optimizations(args.owner, limit=args.limit)
        listed = [stored_info(store, row) for row in rows]
    if args.json:
        _out(json.dumps([info.to_dict() for info in listed], indent=2, default=str))
    for info in [] if args.json else listed:
        _out(f"{info.created_at[:19]}  {_status_line(info)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from engine.local_db import open_database
    from engine.optimization.store import OptimizationStore
    from engine.sdk.optimizations import stored_info

    with open_database() as db:
        store = OptimizationStore(db)
        info = stored_info(store, store.get(args.owner, args.optimization))
    _out(json.dumps(info.to_dict(), indent=2, default=str) if args.json else _status_line(info))
    return 0


def _resume(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        optimization = engine.resume_optimization(
            args.optimization, concurrency=args.concurrency, budget=args.budget
        )
        info = optimization.wait(progress=not args.json)
    _out(json.dumps(info.to_dict(), indent=2, default=str) if args.json else _status_line(info))
    return 0 if info.status in SUCCESS else 1


def _cancel(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        info = engine.optimization(args.optimization).cancel().info
    _out(json.dumps(info.to_dict(), default=str) if args.json else f"{info.id}: cancel requested")
    return 0


def _promote(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        result = engine.optimization(args.optimization).promote(args.label, args.alpha)
    _out(json.dumps(result, default=str) if args.json else promotion_line(result))
    return 0 if result.get("promoted") else 1


def _report(args: argparse.Namespace) -> int:
    fmt: ReportFormat = "json" if args.json else args.format
    with _engine(args) as engine:
        text = engine.optimization(args.optimization).report(fmt)
    _deliver(args, text, fmt)
    return 0


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add `optimize` and `optimizations` to the `autoforge` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)
    report_options = argparse.ArgumentParser(add_help=False)
    report_options.add_argument("--format", choices=FORMATS, default="markdown")
    report_options.add_argument("--out", help="write the report to this file, not stdout")

    def add(
        group: Any,
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help_text: str,
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(
            name, parents=[common, *parents], help=help_text
        )
        parser.set_defaults(handler=handler)
        return parser

    optimize = add(
        subparsers, "optimize", _optimize, "optimize a prompt from a YAML file", report_options
    )
    optimize.add_argument("file", help="path of the optimize YAML file")
    optimize.add_argument("--max-metric-calls", type=int, default=None, help="calls cap")
    optimize.add_argument("--budget", type=float, default=None, help="cap in USD")
    optimize.add_argument("--optimizer", default=None, help="gepa, fewshot or random")
    optimize.add_argument("--seed", type=int, default=None)
    optimize.add_argument("--promote", metavar="LABEL", help="then move LABEL if significant")
    optimize.add_argument("--alpha", type=_alpha, default=0.05, help="promotion test level")

    group = subparsers.add_parser(
        "optimizations", help="optimizations: list, show, resume, cancel, promote, report"
    )
    sub = group.add_subparsers(dest="optimizations_command", required=True, metavar="ACTION")
    add(sub, "list", _list, "recent optimizations").add_argument("--limit", type=int, default=20)
    add(sub, "show", _show, "status of an optimization").add_argument("optimization")
    resume = add(sub, "resume", _resume, "continue a stopped or interrupted optimization")
    resume.add_argument("optimization")
    resume.add_argument("--budget", type=float, default=None, help="new cap in USD")
    resume.add_argument("--concurrency", type=int, default=None, help="calls in flight at once")
    add(sub, "cancel", _cancel, "stop an optimization").add_argument("optimization")
    promote = add(sub, "promote", _promote, "move a label to the best if significant")
    promote.add_argument("optimization")
    promote.add_argument("label")
    promote.add_argument("--alpha", type=_alpha, default=0.05, help="test level (default 0.05)")
    report = add(sub, "report", _report, "print an optimization's report", report_options)
    report.add_argument("optimization")
