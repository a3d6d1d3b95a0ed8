"""Suites written for other tools on the command line: `autoforge eval FILE` reads them as they
are, `autoforge import promptfoo FILE --out DIR` turns one into an eval file to keep.

Examples:
    autoforge eval promptfooconfig.yaml --model-map '*=openai/sim-small' --skip-unsupported
    autoforge import promptfoo promptfooconfig.yaml --out evals/translate
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ValidationError

if TYPE_CHECKING:
    from engine.evaluation.evalfile import EvalFile
    from engine.interop import ImportedSuite

_SIMULATED = "openai/sim-"


def add_suite_flags(parser: argparse.ArgumentParser) -> None:
    """`--model-map`, `--skip-unsupported` and `--simulator`, for commands that read a suite."""
    parser.add_argument(
        "--model-map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="run model FROM (a provider id or catalogue name; '*' = every model) as TO; "
        "repeatable, the first match wins",
    )
    parser.add_argument(
        "--grader",
        metavar="MODEL",
        help="judge every model-graded assertion with MODEL (e.g. openai/sim-judge), whatever "
        "the suite names; default: the grader the suite names, through --model-map",
    )
    parser.add_argument(
        "--embedder",
        metavar="MODEL",
        help="embed for every embedding-similarity assertion with MODEL",
    )
    parser.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="run an imported suite without the constructs it cannot bring over (listed)",
    )
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="start the simulated provider (automatic when every model is openai/sim-*)",
    )


def eval_spec(args: argparse.Namespace) -> EvalFile:
    """The eval `autoforge eval FILE` runs: a native eval file, else an imported suite."""
    from engine.evaluation.evalfile import load_eval_file

    path = Path(args.file)
    if not path.exists() and "#" in path.name:  # registry.yaml#eval-name picks one eval
        data = _parsed(path.with_name(path.name.rpartition("#")[0]))
    else:
        data = _parsed(path)
    if isinstance(data, dict) and "prompt" in data and "models" in data:
        spec = load_eval_file(path)
    else:
        from engine.interop import detect_kind

        kind = detect_kind(path, data)
        if kind is None:
            spec = load_eval_file(path)  # its own message says what is wrong with the file
        else:
            spec = imported_eval(load_imported(args, kind), args)
    if getattr(args, "simulator", False):
        from dataclasses import replace

        spec = replace(spec, simulator=True)
    return spec


def load_imported(args: argparse.Namespace, kind: str) -> ImportedSuite:
    """Import ``args.file`` and refuse it (before any call) if it holds unsupported constructs
    the user did not ask to skip; print what is skipped."""
    from engine.interop import ModelMap, load_suite

    suite = load_suite(
        args.file, kind, ModelMap.parse(args.model_map, grader=args.grader, embedder=args.embedder)
    )
    suite.check_supported(skip_unsupported=args.skip_unsupported)
    if suite.unsupported:
        lines = "".join(f"\n  {item}" for item in suite.unsupported)
        sys.stderr.write(f"skipped {len(suite.unsupported)} unsupported construct(s):{lines}\n")
    if not suite.versions:
        raise ValidationError(
            f"{kind} suite {suite.source}: no prompt is left to run", reason="unsupported"
        )
    return suite


def imported_eval(suite: ImportedSuite, args: argparse.Namespace) -> EvalFile:
    """The suite as an eval; the simulator starts when it runs only simulated models."""
    simulated = bool(suite.models) and all(m.startswith(_SIMULATED) for m in suite.models)
    return suite.to_eval_file(simulator=simulated or getattr(args, "simulator", False))


def _parsed(path: Path) -> Any:
    """The file's JSON/YAML value for detection; ``None`` when it is neither (then
    `load_eval_file` says what is wrong with it)."""
    from engine.interop.promptfoo_text import read_structured

    try:
        return read_structured(path)
    except ValidationError as exc:
        if exc.details.get("reason") == "not-found":
            raise ValidationError(f"eval file {path} not found", reason="not-found") from None
        return None


def import_suite(args: argparse.Namespace) -> int:
    """`autoforge import KIND FILE [--out DIR]`: ensure its prompt versions and dataset in the
    engine and write a native eval file + JSONL dataset into DIR."""
    from engine.cli.acting import engine_options
    from engine.sdk import Engine
    from engine.sdk.evalrun import ensure_dataset, ensure_prompt_versions

    suite = load_imported(args, args.kind)
    spec = imported_eval(suite, args)
    rows = [case.to_dict() for case in spec.cases]
    with Engine(**engine_options(args), simulator=spec.simulator) as engine:
        ids = ensure_prompt_versions(engine, spec.prompt_name, spec.versions)
        number = ensure_dataset(engine, f"{spec.name}-cases", rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    eval_path = out / "eval.yaml"
    eval_path.write_text(native_eval_yaml(spec, "cases.jsonl"))
    sys.stdout.write(
        f"{spec.prompt_name}: {len(dict.fromkeys(ids))} version(s); dataset "
        f"{spec.name}-cases v{number} ({len(rows)} cases); wrote {eval_path}\n"
    )
    return 0


def native_eval_yaml(spec: EvalFile, dataset: str) -> str:
    """``spec`` as an eval file `autoforge eval` reads (its cases in ``dataset``)."""
    import yaml

    versions = []
    for version in spec.versions:
        item: dict[str, Any] = {"message": version.message}
        if version.messages:
            item["messages"] = [dict(m) for m in version.messages]
        else:
            item["template"] = version.template
        item.update(
            {k: v for k, v in version.settings.items() if k in ("temperature", "max_tokens")}
        )
        versions.append(item)
    data: dict[str, Any] = {
        "name": spec.name,
        "prompt": {"name": spec.prompt_name, "versions": versions},
        "models": list(spec.models),
        "dataset": dataset,
        "scorers": [dict(s) for s in spec.scorers],
    }
    if spec.simulator:
        data["simulator"] = True
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `import` to the `autoforge` parser."""
    parser = subparsers.add_parser(
        "import", parents=[common], help="import a promptfoo or OpenAI Evals suite as an eval"
    )
    parser.set_defaults(handler=import_suite)
    parser.add_argument("kind", help="the suite's tool: promptfoo, openai-evals, openai-evals-api")
    parser.add_argument("file", help="the suite's config file")
    parser.add_argument("--out", default=".", help="directory for eval.yaml and cases.jsonl")
    add_suite_flags(parser)
