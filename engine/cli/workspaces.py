"""`autoforge workspace …`: the workspaces a user belongs to, and their members.

Examples:
    autoforge workspace create "qa team"
    autoforge workspace add-member ws_1234 bob annotator
    autoforge workspace set-role ws_1234 bob editor
    autoforge workspace members ws_1234 --json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from domain.workspaces import ROLES, Member, Workspace
from engine.cli import output
from engine.cli.prompts import DEFAULT_OWNER
from engine.local_db import open_database


def _out(text: Any) -> None:
    output.write(f"{text}\n")


@contextmanager
def _workspaces(args: argparse.Namespace) -> Iterator[Any]:
    from engine.sdk.workspaces import Workspaces
    from engine.workspaces import WorkspaceStore

    with open_database() as db:
        yield Workspaces(WorkspaceStore(db), args.user)


def _workspace_line(workspace: Workspace, role: str) -> str:
    return f"{workspace.id}  {workspace.kind:<12} {role:<9} {workspace.name}"


def _member_dict(member: Member) -> dict[str, Any]:
    return dict(member.__dict__)


def _list(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        rows = workspaces.list()
    if args.json:
        _out(json.dumps([{**w.__dict__, "role": role} for w, role in rows], indent=2))
    else:
        for workspace, role in rows:
            _out(_workspace_line(workspace, role))
    return 0


def _create(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        made = workspaces.create(args.name)
    _out(json.dumps({**made.__dict__, "role": "owner"}) if args.json else made.id)
    return 0


def _members(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        members = workspaces.members(args.workspace)
    if args.json:
        _out(json.dumps([_member_dict(m) for m in members], indent=2))
    else:
        for member in members:
            _out(f"{member.user_id}  {member.role}")
    return 0


def _changed(args: argparse.Namespace, member: Member) -> None:
    if args.json:
        _out(json.dumps(_member_dict(member)))
    else:
        _out(f"{member.user_id} is {member.role} in {member.workspace_id}")


def _add_member(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        _changed(args, workspaces.add_member(args.workspace, args.member, args.role))
    return 0


def _set_role(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        _changed(args, workspaces.set_role(args.workspace, args.member, args.role))
    return 0


def _remove_member(args: argparse.Namespace) -> int:
    with _workspaces(args) as workspaces:
        workspaces.remove_member(args.workspace, args.member)
    _out(json.dumps({"removed": args.member}) if args.json else f"{args.member} removed")
    return 0


def register(subparsers: Any) -> None:
    """Add `workspace` to the `autoforge` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--user", default=DEFAULT_OWNER, help="act as this user")
    parser = subparsers.add_parser(
        "workspace", help="workspaces and members: list, create, members, add-member, set-role"
    )
    sub = parser.add_subparsers(dest="workspace_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        command = sub.add_parser(name, parents=[common], help=text)
        command.set_defaults(handler=handler)
        return command

    add("list", _list, "your workspaces and your role in each")
    add("create", _create, "a new shared workspace you own").add_argument("name")
    add("members", _members, "who is in a workspace").add_argument("workspace")
    for name, handler, text in (
        ("add-member", _add_member, "add a user with a role (owners)"),
        ("set-role", _set_role, "change a member's role (owners)"),
    ):
        command = add(name, handler, text)
        command.add_argument("workspace")
        command.add_argument("member", help="the user id")
        command.add_argument("role", choices=ROLES)
    remove = add("remove-member", _remove_member, "remove a member (owners)")
    remove.add_argument("workspace")
    remove.add_argument("member", help="the user id")
