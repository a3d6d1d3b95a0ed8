"""``autoforge flow …``: create, commit, log, show, diff, label and check flows (YAML or
JSON files). Every command takes ``--json`` and ``--owner`` and opens only the database.

Examples:
    autoforge flow create support examples/flows/support-v1.yaml
    autoforge flow commit support examples/flows/support-v2.yaml -m "careful triage"
    autoforge flow diff support v1 main
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from engine.cli import output
from engine.cli.acting import add_acting
from engine.local_db import open_database
from engine.prompts.local_commands import LocalCommands
from engine.sdk.flows import Flows, FlowVersion, load_tools
from engine.sdk.prompts import Prompts
from engine.settings import load_settings

DEFAULT_OWNER = "local"


def register(subparsers: Any) -> None:
    """Add the ``flow`` command group to the ``autoforge`` parser's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)
    group = subparsers.add_parser("flow", help="version flows: create, commit, log, diff, …")
    sub = group.add_subparsers(dest="flow_command", required=True, metavar="ACTION")

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    create = add("create", _create, "create a flow from a YAML/JSON file")
    create.add_argument("name")
    create.add_argument("file")
    create.add_argument("--description", default="")
    create.add_argument("-m", "--message", default="Initial version")
    commit = add("commit", _commit, "commit a new version from a file")
    commit.add_argument("name")
    commit.add_argument("file")
    commit.add_argument("-m", "--message", default="")
    commit.add_argument("--branch", default="main")
    commit.add_argument("--parent", help="expected head id: refuse if the branch moved")
    check = add("check", _check, "validate a flow file against your prompts, committing nothing")
    check.add_argument("file")
    log = add("log", _log, "history of a branch, label or version, newest first")
    log.add_argument("name")
    log.add_argument("ref", nargs="?", default="main")
    log.add_argument("--limit", type=int, default=50)
    show = add("show", _show, "one version's flow")
    show.add_argument("name")
    show.add_argument("ref", nargs="?", default="main")
    diff = add("diff", _diff, "the steps that changed and a unified diff")
    diff.add_argument("name")
    diff.add_argument("old")
    diff.add_argument("new", nargs="?", default="main")
    label = add("label", _label, "point a label (e.g. production) at a version")
    label.add_argument("name")
    label.add_argument("label")
    label.add_argument("ref", nargs="?", default="main")


@contextmanager
def _flows(args: argparse.Namespace) -> Iterator[Flows]:
    settings = load_settings()
    with open_database(settings) as db:
        prompts = Prompts(db=db, owner=args.owner, shards=LocalCommands(db), actor=args.user)
        yield Flows(prompts, tools=load_tools(settings.flow_tools))


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}", reason="usage") from None


def _emit(args: argparse.Namespace, data: Any, text: str) -> int:
    output.write((json.dumps(data, indent=2, ensure_ascii=False) if args.json else text) + "\n")
    return 0


def _line(version: FlowVersion) -> str:
    steps = " → ".join(step.name for step in version.flow.steps)
    return f"{version.name} v{version.number} {version.id[:12]} {version.message!r}: {steps}"


def _create(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        made = flows.create(
            args.name, _read(args.file), description=args.description, message=args.message
        )
    return _emit(args, made.to_dict(), f"created {_line(made)}")


def _commit(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        made = flows.commit(
            args.name,
            _read(args.file),
            message=args.message,
            branch=args.branch,
            parent=args.parent,
        )
    return _emit(args, made.to_dict(), f"committed {_line(made)}")


def _check(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        flow = flows.check(_read(args.file))
    return _emit(args, flow.to_dict(), f"ok: {len(flow.walk())} steps")


def _log(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        versions = flows.history(args.name, args.ref, limit=args.limit)
    return _emit(args, [v.to_dict() for v in versions], "\n".join(_line(v) for v in versions))


def _show(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        version = flows.get(args.name, args.ref)
    return _emit(args, version.to_dict(), json.dumps(version.flow.to_dict(), indent=2))


def _diff(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        diff = flows.diff(args.name, args.old, args.new)
    text = "changed: " + (", ".join(diff.changes) or "nothing") + "\n" + diff.text
    return _emit(args, diff.to_dict(), text.rstrip("\n"))


def _label(args: argparse.Namespace) -> int:
    with _flows(args) as flows:
        version = flows.label(args.name, args.label, args.ref)
    return _emit(args, version.to_dict(), f"{args.label} → {_line(version)}")
