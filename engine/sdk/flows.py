"""`Flows`: versioned workflows for one owner, kept as prompts (see `domain.flows.codec`).

Every command validates the whole flow before it is committed: its steps, jumps, loops and
types, the tools it names (those registered with :meth:`Flows.register_tool`) and the
prompts its ``llm`` steps call (each must exist and its variables be written before it).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from domain.errors import ConfigurationError, NotFoundError, ValidationError
from domain.flows import (
    FLOW_PREFIX,
    Flow,
    Known,
    check_flow,
    flow_changes,
    flow_error,
    flow_name,
    from_template,
    prompt_name,
    split_ref,
    to_template,
)
from domain.prompts import VersionDiff, format_time
from domain.prompts.state import DEFAULT_BRANCH
from engine.evaluation.flow_runner import FlowPlan, PinnedPrompt
from engine.prompts.models import PromptVersion
from engine.sdk.prompts import Prompts

FlowInput = Flow | Mapping[str, Any] | str
"""A `Flow`, its dict form, or its YAML/JSON text."""
FLOW_TAG = "flow"


@dataclass(frozen=True)
class FlowVersion:
    """One immutable version of a flow.

    Attributes:
        id: The version id (content address, as a prompt version's).
        name: The flow's name.
        number: 1 for the first version, then in commit order.
        flow: The steps.
        parents: Parent version ids.
        message: The commit message.
        author: Who committed it.
        committed_at: When (UTC).
    """

    id: str
    name: str
    number: int
    flow: Flow
    parents: tuple[str, ...]
    message: str
    author: str
    committed_at: datetime

    @classmethod
    def of(cls, version: PromptVersion, name: str) -> FlowVersion:
        return cls(
            version.id,
            flow_name(name),
            version.number,
            from_template(version.template),
            version.parents,
            version.message,
            version.author,
            version.committed_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "id": self.id,
            "name": self.name,
            "number": self.number,
            "flow": self.flow.to_dict(),
            "parents": list(self.parents),
            "message": self.message,
            "author": self.author,
            "committed_at": format_time(self.committed_at),
        }


@dataclass(frozen=True)
class FlowDiff:
    """How two flow versions differ: the steps that changed and the text diff."""

    from_id: str
    to_id: str
    changes: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_id,
            "to": self.to_id,
            "changes": list(self.changes),
            "diff": self.text,
        }


def load_tools(spec: Mapping[str, str]) -> dict[str, Callable[..., Any]]:
    """The operator's tools, ``{"name": "module:function"}`` imported now.

    Raises:
        ConfigurationError: an entry that does not name an importable callable.
    """
    import importlib

    tools: dict[str, Callable[..., Any]] = {}
    for name, target in spec.items():
        module, _, attribute = target.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigurationError(
                f"flow tool {name!r}: cannot import {target!r} ({type(exc).__name__})",
                reason="bad-flow-tool",
            ) from None
        if not callable(fn):
            raise ConfigurationError(
                f"flow tool {name!r}: {target!r} is not callable", reason="bad-flow-tool"
            )
        tools[name] = fn
    return tools


_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def tool_schema(name: str, fn: Callable[..., Any]) -> dict[str, Any]:
    """The OpenAI ``tools`` item offering ``fn`` to a model: its docstring's first line
    describes it; its parameters come from its signature (``str``, ``int``, ``float``,
    ``bool``, ``list`` and ``dict`` annotations are typed, others accept any JSON value;
    those without a default are required)."""
    import inspect
    import typing

    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
    except (TypeError, ValueError, NameError):
        signature, hints = None, {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values() if signature else ():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        kind = _JSON_TYPES.get(
            typing.get_origin(hints.get(parameter.name)) or hints.get(parameter.name)
        )
        properties[parameter.name] = {"type": kind} if kind else {}
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": doc[0] if doc else name,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def parse_flow(value: FlowInput) -> Flow:
    """A `Flow` from any `FlowInput` (shape checked; cross-step checks are the commit's).

    Raises:
        ValidationError: ``reason="invalid-flow"`` for unreadable YAML, or a step's error.
    """
    if isinstance(value, Flow):
        return value
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise flow_error(
                f"the flow is not valid YAML: {str(exc)[:200]}", "invalid-flow"
            ) from None
    return Flow.from_dict(value)


class Flows:
    """Create, commit, read, diff and label flows; register the Python tools they call.

    Args:
        prompts: The owner's prompt SDK (flows are stored as prompts named ``flow:<name>``).
        tools: The registry tools are looked up in (shared by an engine's owner views).

    Examples:
        >>> engine.flows.register_tool("lookup", lambda order: {"ok": 1})  # doctest: +SKIP
        >>> engine.flows.create("support", open("support.yaml").read())  # doctest: +SKIP
    """

    def __init__(
        self, prompts: Prompts, tools: dict[str, Callable[..., Any]] | None = None
    ) -> None:
        self.prompts = prompts
        self.tools: dict[str, Callable[..., Any]] = {} if tools is None else tools

    def register_tool(self, name: str, fn: Callable[..., Any]) -> None:
        """Let ``tool`` steps named ``name`` call ``fn`` (with the step's inputs as keywords;
        sync or async; bounded by the step's ``timeout_s``), and ``llm`` steps offer it to
        their model (described by `tool_schema`: ``fn``'s docstring and signature).

        Examples:
            >>> def lookup(order: int) -> dict:  # doctest: +SKIP
            ...     'Look up an order by its number.'
            ...     return {"order": order, "status": "shipped"}
            >>> engine.flows.register_tool("lookup", lookup)  # doctest: +SKIP
        """
        if not callable(fn):
            raise ValidationError(f"tool {name!r} is not callable", reason="invalid-tool")
        self.tools[name] = fn

    def check(self, flow: FlowInput) -> Flow:
        """Validate ``flow`` as a commit would, against this owner's prompts and tools.

        Raises:
            ValidationError: a reason of `domain.flows.FLOW_REASONS`, ``step`` in details.
        """
        parsed = parse_flow(flow)
        check_flow(parsed, Known(tools=set(self.tools), prompt_variables=self._variables))
        return parsed

    def create(
        self, name: str, flow: FlowInput, *, description: str = "", message: str = "Initial version"
    ) -> FlowVersion:
        """Create flow ``name`` with its first version on ``main``.

        Raises:
            ConflictError: ``reason="duplicate-name"``.
            ValidationError: the flow is refused (the step is named in the error).
        """
        parsed = self.check(flow)
        info = self.prompts.create(
            prompt_name(name),
            to_template(parsed),
            description=description,
            tags=(FLOW_TAG,),
            message=message,
        )
        return self.get(info.id)

    def commit(
        self,
        name: str,
        flow: FlowInput,
        *,
        message: str = "",
        branch: str = DEFAULT_BRANCH,
        parent: str | None = None,
    ) -> FlowVersion:
        """Commit a new version of flow ``name`` on ``branch``.

        Raises:
            ValidationError: the flow is refused, or ``reason="no-changes"``.
            ConflictError: ``reason="stale-parent"``.
        """
        parsed = self.check(flow)
        key = self.key(name)
        version = self.prompts.commit(
            key, to_template(parsed), message=message, branch=branch, parent=parent
        )
        return FlowVersion.of(version, self.prompts.get(key).name)

    def get(self, name: str, ref: str = DEFAULT_BRANCH) -> FlowVersion:
        """The version ``ref`` (branch, label, ``v3``, id) of flow ``name`` names.

        Raises:
            NotFoundError: ``reason="unknown-flow"`` or ``"unknown-ref"``.
        """
        key = self.key(name)
        return FlowVersion.of(self.prompts.show(key, ref), self.prompts.get(key).name)

    def history(
        self, name: str, ref: str = DEFAULT_BRANCH, *, limit: int = 50
    ) -> builtins.list[FlowVersion]:
        """The versions from ``ref`` back along first parents, newest first."""
        key = self.key(name)
        full = self.prompts.get(key).name
        return [FlowVersion.of(v, full) for v in self.prompts.log(key, ref, limit=limit)]

    def diff(self, name: str, old: str, new: str = DEFAULT_BRANCH) -> FlowDiff:
        """How ref ``new`` of flow ``name`` differs from ref ``old``."""
        key = self.key(name)
        a, b = self.get(key, old), self.get(key, new)
        text: VersionDiff = self.prompts.diff(key, a.id, b.id)
        return FlowDiff(a.id, b.id, flow_changes(a.flow, b.flow), text.template)

    def label(self, name: str, label: str, to: str = DEFAULT_BRANCH) -> FlowVersion:
        """Point ``label`` (e.g. ``production``) at ref ``to`` of flow ``name``."""
        key = self.key(name)
        return FlowVersion.of(self.prompts.label(key, label, to), self.prompts.get(key).name)

    def branch(self, name: str, branch: str, start: str = DEFAULT_BRANCH) -> FlowVersion:
        """Create ``branch`` of flow ``name`` at ref ``start``."""
        key = self.key(name)
        return FlowVersion.of(
            self.prompts.branch(key, branch, start=start), self.prompts.get(key).name
        )

    def list(self, *, limit: int = 50) -> builtins.list[str]:
        """The owner's flow names, in order."""
        found = self.prompts.search(tag=FLOW_TAG, limit=limit)
        return [flow_name(p.name) for p in found if p.name.startswith("flow:")]

    def plan(
        self, name: str, ref: str, pins: Mapping[str, str] | None = None
    ) -> tuple[FlowVersion, FlowPlan, dict[str, str]]:
        """A flow version ready to run: each ``llm`` step's prompt resolved to a version
        (``pins``: step → version id from an earlier start, kept by a resume).

        Returns:
            The version, its plan and the pins (step name → prompt version id).
        """
        version = self.get(name, ref)
        return version, *self.plan_of(version.flow, pins)

    def plan_of(
        self, flow: Flow, pins: Mapping[str, str] | None = None
    ) -> tuple[FlowPlan, dict[str, str]]:
        """The plan of ``flow``; see :meth:`plan`."""
        check_flow(flow, Known(tools=set(self.tools)))
        prompts: dict[str, PinnedPrompt] = {}
        for step in flow.walk():
            refs = {step.name: step.prompt} if step.kind in ("llm", "conversation") else {}
            if step.user is not None and step.user.prompt is not None:
                refs[f"{step.name}.user"] = step.user.prompt
            for key, prompt in refs.items():
                prompts[key] = self._pin(step.name, prompt or "", (pins or {}).get(key))
        named = [t for s in flow.walk() for t in ([s.tool] if s.kind == "tool" else s.tools)]
        tools = {name: self.tools[name] for name in named if name}
        offered = {t for s in flow.walk() for t in s.tools}
        schemas = {name: tool_schema(name, tools[name]) for name in sorted(offered)}
        plan = FlowPlan(flow, prompts, tools, schemas)
        return plan, {k: p.version_id for k, p in prompts.items()}

    def _pin(self, step: str, prompt: str, pinned: str | None) -> PinnedPrompt:
        name, ref = split_ref(prompt)
        try:
            version = self.prompts.show(name, pinned or ref)
        except (NotFoundError, ValidationError) as exc:
            raise flow_error(
                f"step {step!r}: prompt {prompt!r}: {exc.message}", "unknown-prompt", step
            ) from None
        return PinnedPrompt(prompt, version.id, version.template, version.settings)

    def key(self, name: str) -> str:
        """The id of the prompt holding flow ``name`` (a flow name or its prompt's id).

        Raises:
            NotFoundError: ``reason="unknown-flow"``.
            ValidationError: ``reason="not-a-flow"`` for an ordinary prompt.
        """
        for candidate in (prompt_name(name), name):
            try:
                info = self.prompts.get(candidate)
            except NotFoundError:
                continue
            if not info.name.startswith(FLOW_PREFIX):
                raise flow_error(f"{name!r} is a prompt, not a flow", "not-a-flow")
            return info.id
        raise NotFoundError(
            f"no flow named {flow_name(name)!r}", reason="unknown-flow", flow=flow_name(name)
        )

    def _variables(self, name: str, ref: str) -> tuple[str, ...]:
        return self.prompts.show(name, ref).template.variables
