"""``autoforge prompt …``: create, commit, log, show, diff, revert, branch, merge, label,
archive, restore, list and rebuild prompts. Every command takes ``--json`` and ``--owner``.

Examples:
    autoforge prompt create greeter --template "Say hello to {{name}}" --model gpt-4o-mini
    autoforge prompt commit greeter --template "Say hi to {{name}}" -m "shorter"
    autoforge prompt log greeter --json
    autoforge prompt diff greeter v1-id main
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli import prompt_commands as run
from engine.cli.acting import DEFAULT_OWNER, add_acting

__all__ = ["DEFAULT_OWNER", "register"]


def register(subparsers: Any) -> None:
    """Add the ``prompt`` command group to the ``autoforge`` parser's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)
    group = subparsers.add_parser("prompt", help="version prompts: create, commit, log, diff, …")
    sub = group.add_subparsers(dest="prompt_command", required=True, metavar="ACTION")

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    create = add("create", run.create, "create a prompt with its first version")
    create.add_argument("name")
    _content_options(create)
    create.add_argument("--description", default="", help="free-text description")
    create.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")

    commit = add("commit", run.commit, "commit a new version (omitted parts stay as they are)")
    commit.add_argument("prompt", help="prompt name or id")
    _content_options(commit)
    commit.add_argument("--branch", default="main")
    commit.add_argument("--parent", help="expected head id: refuse if the branch moved")

    log = add("log", run.log, "history of a branch, label or version, newest first")
    log.add_argument("prompt")
    log.add_argument("ref", nargs="?", default="main")
    log.add_argument("--limit", type=int, default=50)
    log.add_argument("--before", help="cursor: the last version id of the previous page")

    show = add("show", run.show_version, "one version: details and template")
    show.add_argument("prompt")
    show.add_argument(
        "ref", nargs="?", default="main", help="branch, label, v3, id or prefix; main~1 goes back"
    )

    diff = add("diff", run.diff, "unified diff of two versions (template and settings)")
    diff.add_argument("prompt")
    diff.add_argument("old")
    diff.add_argument("new", nargs="?", default="main")
    diff.add_argument("--context", type=int, default=3)

    revert = add("revert", run.revert, "commit a version with the content of an older one")
    revert.add_argument("prompt")
    revert.add_argument("to", help="branch, label, v3, id or id prefix; ~N goes back (main~1)")
    revert.add_argument("--branch", default="main")
    revert.add_argument("-m", "--message")

    branch = add("branch", run.branch, "create (or --delete) a branch")
    branch.add_argument("prompt")
    branch.add_argument("name")
    branch.add_argument("--start", default="main", help="where the branch starts")
    branch.add_argument("--delete", action="store_true")

    merge = add("merge", run.merge, "merge a branch into another (default: main)")
    merge.add_argument("prompt")
    merge.add_argument("source")
    merge.add_argument("--into", default="main")
    merge.add_argument("--strategy", choices=["ours", "theirs"], help="settle a conflict")
    merge.add_argument("-m", "--message")

    label = add("label", run.label, "point a label (e.g. production) at a version, or --delete")
    label.add_argument("prompt")
    label.add_argument("label")
    label.add_argument("ref", nargs="?", default="main")
    label.add_argument("--delete", action="store_true")

    for name, archive in (("archive", True), ("restore", False)):
        parser = add(name, run.archive, f"{name} a prompt")
        parser.add_argument("prompt")
        parser.set_defaults(archive=archive)

    listing = add("list", run.list_prompts, "list (and search) prompts")
    listing.add_argument("--search", default="", help="part of the name")
    listing.add_argument("--tag")
    listing.add_argument("--all", action="store_true", help="include archived prompts")
    listing.add_argument("--limit", type=int, default=50)

    add("rebuild", run.rebuild, "regenerate the read models from the event log")


def _content_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", help="template text with {{variables}}")
    parser.add_argument("--template-file", help="read the template from a file ('-': stdin)")
    parser.add_argument("--system", help="a system message (makes a chat template)")
    parser.add_argument("--model", help="model setting, e.g. gpt-4o-mini")
    parser.add_argument("--temperature", type=float, help="temperature setting (0–2)")
    parser.add_argument("-m", "--message", help="commit message")
