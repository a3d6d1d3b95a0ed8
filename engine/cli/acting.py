"""Who a command acts as, and in which workspace: `--owner` and `--user`, checked in one place.

``--owner`` names the workspace: a user's personal one (its id is the user's: the command
acts as that user, as the CLI always has — it trusts whoever runs it, like the SDK) or a
shared one (``ws_…``), where ``--user`` (default ``local``) must be a member. `check_acting`
runs before every command that takes them (`engine.cli.main`): a workspace the user is not
a member of is not found, as over HTTP; an organisation's workspace needs its identity
provider's token, which the CLI has not.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_OWNER = "local"
SHARED_PREFIX = "ws_"


def add_acting(parser: argparse.ArgumentParser) -> None:
    """Add ``--owner`` and ``--user`` to a command's common options."""
    parser.add_argument(
        "--owner",
        default=DEFAULT_OWNER,
        help="the workspace to act in: a user id (that user's personal workspace, acting as "
        "them; default local) or a shared workspace id (ws_…) --user is a member of",
    )
    parser.add_argument(
        "--user", default=None, help="who acts in a shared --owner workspace (default local)"
    )


def check_acting(args: argparse.Namespace) -> None:
    """Resolve ``args.user`` and check that they may act in ``args.owner``.

    Raises:
        NotFoundError: the user is not a member of the workspace (``unknown-workspace``).
    """
    owner = getattr(args, "owner", None)
    if owner is None or not hasattr(args, "user"):
        return
    shared = owner.startswith(SHARED_PREFIX)
    args.user = args.user or (DEFAULT_OWNER if shared else owner)
    if args.user == owner:
        return
    from engine.local_db import open_database
    from engine.sdk.workspaces import Workspaces
    from engine.workspaces import WorkspaceStore

    with open_database() as db:
        Workspaces(WorkspaceStore(db), args.user).role(owner)


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """`Engine` keywords acting as the command's user in its workspace (the SDK then checks
    the role there, see `engine.sdk.permits`)."""
    user = args.user or args.owner
    return {"owner": user, "workspace": None if args.owner == user else args.owner}
