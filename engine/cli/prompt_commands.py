"""The handlers of ``autoforge prompt …``; each returns the exit code.

Every command opens only the database: changes run in this process (``LocalCommands``), as
safe as through the shard actors and without starting Ray and Redis for one write.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from domain.prompts import Template, validate_prompt_name
from engine.cli import output
from engine.cli import prompt_output as show
from engine.local_db import open_database
from engine.prompts.inputs import as_template
from engine.prompts.local_commands import LocalCommands
from engine.sdk.prompts import Prompts


@contextmanager
def _prompts(args: argparse.Namespace) -> Iterator[Prompts]:
    with open_database() as db:
        yield Prompts(db=db, owner=args.owner, shards=LocalCommands(db), actor=args.user)


def _emit(args: argparse.Namespace, data: Any, text: str) -> int:
    output.write((json.dumps(data, indent=2, ensure_ascii=False) if args.json else text) + "\n")
    return 0


def _template(args: argparse.Namespace) -> Template | None:
    if args.template is not None and args.template_file is not None:
        raise ValidationError("give --template or --template-file, not both", reason="usage")
    text = args.template
    if args.template_file is not None:
        path = args.template_file
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read {path}: {exc}", reason="usage") from None
    if text is None:
        if args.system is not None:
            raise ValidationError("--system needs --template or --template-file", reason="usage")
        return None
    return as_template(text, args.system)


def _settings_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes = {"model": args.model, "temperature": args.temperature}
    return {key: value for key, value in changes.items() if value is not None}


def create(args: argparse.Namespace) -> int:
    validate_prompt_name(args.name)  # before touching the database; the aggregate checks again
    template = _template(args)
    if template is None:
        raise ValidationError("create needs --template or --template-file", reason="usage")
    with _prompts(args) as prompts:
        info = prompts.create(
            args.name,
            template,
            settings=_settings_changes(args),
            description=args.description,
            tags=args.tag,
            message=args.message or "Initial version",
        )
    return _emit(args, info.to_dict(), show.created(info))


def commit(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        settings, parent = None, args.parent
        changes = _settings_changes(args)
        if changes:
            # Other settings stay as they are at the head we read; pinning that head as the
            # parent refuses the commit if someone moved the branch meanwhile.
            head = prompts.head(args.prompt, args.branch)
            settings = dataclasses.replace(head.settings, **changes)
            parent = parent or head.id
        version = prompts.commit(
            args.prompt,
            _template(args),
            settings=settings,
            message=args.message or "",
            branch=args.branch,
            parent=parent,
        )
    return _emit(args, version.to_dict(), show.committed(version, args.branch))


def log(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        versions = prompts.log(args.prompt, args.ref, limit=args.limit, before=args.before)
        info = prompts.get(args.prompt)
    data = [version.to_dict() for version in versions]
    return _emit(args, data, "\n".join(show.log_lines(versions, info)) or "no versions")


def show_version(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        version = prompts.show(args.prompt, args.ref)
        info = prompts.get(args.prompt)
    return _emit(args, version.to_dict(), show.show_text(version, info))


def diff(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        diff = prompts.diff(args.prompt, args.old, args.new, context=args.context)
    return _emit(args, show.diff_dict(diff), show.diff_text(diff))


def revert(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        version = prompts.revert(args.prompt, args.to, branch=args.branch, message=args.message)
    return _emit(args, version.to_dict(), show.committed(version, args.branch))


def branch(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        if args.delete:
            info = prompts.delete_branch(args.prompt, args.name)
            return _emit(args, info.to_dict(), f"deleted branch {args.name}")
        version = prompts.branch(args.prompt, args.name, start=args.start)
    text = f"created branch {args.name} at v{version.number} {version.short_id}"
    return _emit(args, version.to_dict(), text)


def merge(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        result = prompts.merge(
            args.prompt, args.source, into=args.into, strategy=args.strategy, message=args.message
        )
    return _emit(args, result.to_dict(), show.merged(result, args.into))


def label(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        if args.delete:
            info = prompts.unlabel(args.prompt, args.label)
            return _emit(args, info.to_dict(), f"removed label {args.label}")
        version = prompts.label(args.prompt, args.label, args.ref)
    text = f"{args.label} -> v{version.number} {version.short_id}"
    return _emit(args, version.to_dict(), text)


def archive(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        info = prompts.archive(args.prompt) if args.archive else prompts.restore(args.prompt)
    return _emit(
        args, info.to_dict(), show.details(info, "archived" if info.archived else "restored")
    )


def list_prompts(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        infos = prompts.search(
            args.search, tag=args.tag, include_archived=args.all, limit=args.limit
        )
    return _emit(args, [info.to_dict() for info in infos], show.prompt_table(infos))


def rebuild(args: argparse.Namespace) -> int:
    with _prompts(args) as prompts:
        report = prompts.rebuild()
    text = f"rebuilt the read models of {report.prompts} prompts from {report.events} events"
    return _emit(args, dataclasses.asdict(report), text)
