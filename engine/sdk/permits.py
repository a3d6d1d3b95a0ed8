"""The SDK acting as a member of a workspace checks the same permission table as the API.

`Engine.in_workspace` and `Engine(workspace=...)` give a view that knows the user's role
there; every public method of the SDK's objects is either a read (any member) or names the
permission it needs below, as the HTTP route doing the same thing does. A handle a call
returns (a run, a queue, a playground…) is checked the same way, so `engine.run(id).cancel()`
by a viewer is refused like `POST /v1/runs/{id}/cancel`. The API's own views (`as_owner`,
after the route checked its one permission) and a user's personal workspace check nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from domain.errors import ForbiddenError
from domain.workspaces import Permission, Role, can

NEEDS: dict[str, dict[str, Permission]] = {
    "Engine": {
        "evaluate": "runs.write",
        "resume": "runs.write",
        "optimize": "optimizations.write",
        "resume_optimization": "optimizations.write",
        "playground": "runs.write",
        "use_catalogue": "workspace.manage",
    },
    "PromptWrites": dict.fromkeys(
        (
            "create",
            "commit",
            "revert",
            "branch",
            "delete_branch",
            "merge",
            "label",
            "unlabel",
            "update",
            "archive",
            "restore",
        ),
        "prompts.write",
    ),  # fmt: skip
    "PromptReads": {"rebuild": "prompts.write"},
    "Flows": dict.fromkeys(
        ("register_tool", "create", "commit", "label", "branch"), "prompts.write"
    ),  # fmt: skip
    "Datasets": dict.fromkeys(("create", "add", "import_text", "import_file"), "datasets.write"),
    "Queues": {"create": "queue.manage"},
    "AnnotationQueue": {
        "next": "queue.work",
        "submit": "queue.work",
        "skip": "queue.work",
        "reassign": "queue.manage",
    },
    "Evaluations": dict.fromkeys(("evaluate", "resume", "cancel"), "runs.write"),
    "Run": {
        "feedback": "feedback.write",
        "corrections_to_dataset": "datasets.write",
        "cancel": "runs.write",
        "resume": "runs.write",
    },
    "Optimizations": dict.fromkeys(
        ("optimize", "resume", "cancel", "promote"), "optimizations.write"
    ),  # fmt: skip
    "Optimization": dict.fromkeys(("promote", "cancel", "resume"), "optimizations.write"),
    "Playgrounds": {"create": "runs.write", "begin": "runs.write"},
    "Playground": {
        "run": "runs.write",
        "start": "runs.write",
        "turn": "runs.write",
        "save_case": "datasets.write",
        "commit": "prompts.write",
    },
}
"""Class → method → the permission it needs; a public method not named here is a read."""
READS: dict[str, frozenset[str]] = {
    "Engine": frozenset({"as_owner", "in_workspace", "workspaces", "settings", "runtime",
                         "simulator", "catalogue", "prompts", "flows", "datasets", "queues",
                         "evaluations", "optimizations_service", "optimization",
                         "optimizations", "playgrounds", "scorers", "run", "runs", "compare",
                         "timings", "metrics_text", "metrics_targets", "warm", "serve_forever",
                         "close"}),
    "PromptReads": frozenset({"get", "head", "version_names", "show", "log", "diff", "list",
                              "search", "render"}),
    "PromptWrites": frozenset(),
    "Prompts": frozenset({"shards"}),
    "Flows": frozenset({"check", "get", "history", "diff", "list", "plan", "plan_of", "key"}),
    "Datasets": frozenset({"get", "list", "exists", "version", "versions", "cases", "export"}),
    "Queues": frozenset({"get", "list", "page"}),
    "AnnotationQueue": frozenset({"info", "items", "item", "answers", "progress", "agreement",
                                  "tally"}),
    "Evaluations": frozenset({"scheduler", "ensure_worked", "list", "get", "own_gateways"}),
    "Run": frozenset({"info", "status", "progress", "recorded", "events", "wait", "results",
                      "cells", "records", "feedbacks", "feedback_page", "summary",
                      "step_report", "feedback_report", "version_names", "report",
                      "save_report", "compare_versions"}),
    "Optimizations": frozenset({"state", "info", "get", "list"}),
    "Optimization": frozenset({"info", "status", "best", "front", "candidates", "history",
                               "report_data", "report", "events", "wait"}),
    "Playgrounds": frozenset({"get", "list", "work"}),
    "Playground": frozenset({"info", "history"}),
}  # fmt: skip
"""The reads, named so that a new public method must be sorted into one table or the other
(`tests/unit/workspaces/test_sdk_permits.py`)."""


def needed(target: Any, name: str) -> Permission | None:
    """The permission ``target.name`` needs, or ``None`` for a read."""
    for cls in type(target).__mro__:
        found = NEEDS.get(cls.__name__, {}).get(name)
        if found is not None:
            return found
    return None


def guarded(target: Any) -> bool:
    """Whether ``target`` is one of the SDK objects the table covers."""
    return any(cls.__name__ in READS for cls in type(target).__mro__)


def check(role: Role, target: Any, name: str) -> None:
    """Raises:
    ForbiddenError: ``role`` lacks what ``target.name`` needs (``missing-permission``).
    """
    permission = needed(target, name)
    if permission is not None and not can(role, permission):
        raise ForbiddenError(
            f"a workspace {role} may not call {type(target).__name__}.{name} (needs {permission})",
            reason="missing-permission",
            permission=permission,
            role=role,
        )


def guard(value: Any, role: Role) -> Any:
    """``value`` checked against ``role`` when it is an SDK object (or a list of them)."""
    if isinstance(value, list):
        return [guard(v, role) for v in value]
    return Permitted(value, role) if guarded(value) else value


class Permitted:
    """An SDK object as a member of ``role`` may use it (``isinstance`` still sees the
    object's own class)."""

    __slots__ = ("_target", "_role")

    def __init__(self, target: Any, role: Role) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_role", role)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        return permitted_attribute(self._target, name, getattr(self._target, name), self._role)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return repr(self._target)

    def __iter__(self) -> Any:
        return iter(self._target)


def permitted_attribute(target: Any, name: str, value: Any, role: Role) -> Any:
    """``target.name`` (already read as ``value``) as ``role`` may use it."""
    if name.startswith("_"):
        return value
    if callable(value) and not guarded(value):
        return _checked(target, name, value, role)
    return guard(value, role)


def _checked(target: Any, name: str, method: Callable[..., Any], role: Role) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        check(role, target, name)
        return guard(method(*args, **kwargs), role)

    return call
