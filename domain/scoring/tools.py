"""Tool-call scorers: valid calls against the offered tools, F1 against expected calls,
whether a tool was called, and the order of the calls (the trajectory).

The tools and their JSON Schemas come from the cell's ``tools`` parameter (or a scorer's
``tools`` argument): user input, so each schema is size-capped, closed (no reference
outside itself is resolved, nothing is fetched or read, see `json_schema`), its patterns
bounded, and each validation bounded in steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from domain.llm.tool_calls import ToolCall
from domain.scoring._common import BaseScorer, ScorerArgs, clip
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.json_schema import SchemaRefused, closed_validator, within_steps
from domain.scoring.listing import ScorerArgument

MAX_SCHEMA_CHARS = 64_000
"""Largest tool parameters schema (as JSON) applied."""
MAX_TOOLS = 256
_CACHE_SIZE = 64
EXPECTED_CALLS_KEY = "expected_tool_calls"
"""Case metadata key `tool-call-f1` reads when it has no ``expected`` argument."""
EXPECTED_TRAJECTORY_KEY = "expected_tool_trajectory"
"""Case metadata key `tool-trajectory` reads when it has no ``expected`` argument."""
TRAJECTORY_MODES = ("exact", "in-order")


class ToolsRefused(ValueError):
    """Offered tools this scorer cannot check calls against; the message says why."""


def _function(tool: Any) -> Mapping[str, Any]:
    if not isinstance(tool, Mapping):
        raise ToolsRefused(f"a tool must be an object, got {clip(repr(tool))}")
    function = tool.get("function") if "function" in tool else tool  # legacy: bare functions
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise ToolsRefused("a tool must name its function ({'function': {'name': ...}})")
    return function


def _validator(name: str, schema: Any) -> Any:
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict | bool):
        raise ToolsRefused(f"tool {name!r}: parameters must be a JSON Schema object")
    try:
        size = len(json.dumps(schema))
    except (TypeError, ValueError, RecursionError):
        raise ToolsRefused(f"tool {name!r}: parameters are not JSON") from None
    if size > MAX_SCHEMA_CHARS:
        raise ToolsRefused(f"tool {name!r}: parameters schema over {MAX_SCHEMA_CHARS} characters")
    try:
        return closed_validator(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise ToolsRefused(f"tool {name!r}: invalid schema at {where}: {exc.message}") from None
    except SchemaRefused as exc:
        raise ToolsRefused(f"tool {name!r}: schema refused {exc}") from None
    except RecursionError:
        raise ToolsRefused(f"tool {name!r}: schema nests too deeply") from None


def declared_tools(tools: Sequence[Any]) -> dict[str, Any]:
    """Function name → validator of its parameters (``None``: it declares none).

    Raises:
        ToolsRefused: Too many tools, a malformed tool, two tools of one name, or a schema
            that is invalid, too large or reaches outside itself (a remote ``$ref``).
    """
    if len(tools) > MAX_TOOLS:
        raise ToolsRefused(f"more than {MAX_TOOLS} tools offered")
    declared: dict[str, Any] = {}
    for tool in tools:
        function = _function(tool)
        name = str(function["name"])
        if name in declared:
            raise ToolsRefused(f"two tools are named {name!r}")
        schema = function.get("parameters")
        declared[name] = None if schema is None else _validator(name, schema)
    return declared


def _violation(validator: Any, instance: Any) -> str | None:
    """Why ``instance`` breaks the schema, or ``None`` when it matches."""
    from jsonschema.exceptions import best_match
    from referencing.exceptions import Unresolvable

    try:
        with within_steps():
            worst = best_match(validator.iter_errors(instance))
    except TimeoutError as exc:
        return f"schema could not be applied: {exc}"
    except Unresolvable as exc:
        return f"schema could not be applied: unresolvable reference {exc.ref!r}"
    except RecursionError:
        return "schema could not be applied: its references recurse without end"
    return None if worst is None else f"at {worst.json_path}: {worst.message}"


def _names(calls: Sequence[ToolCall]) -> str:
    return "[" + ", ".join(call.name for call in calls) + "]" if calls else "no calls"


@register_scorer("is-valid-openai-tools-call")
class ValidToolsCall(BaseScorer):
    """Every tool call names an offered tool and its arguments are JSON matching that tool's
    parameters schema; the value is the share of valid calls (no call scores 0).

    The tools are the cell's ``tools`` parameter unless the ``tools`` argument gives them.
    Schemas resolve references only within themselves: a remote or ``file:`` ``$ref`` is
    refused, never fetched.
    """

    arguments = (
        ScorerArgument("tools", "list", "tools (OpenAI format); default: the cell's tools"),
    )

    def configure(self, args: ScorerArgs) -> None:
        tools = args.optional_raw("tools")
        self.fixed: dict[str, Any] | None = None
        if tools is not None:
            if not isinstance(tools, list) or not tools:
                raise args.error("tools", "must be a non-empty list of tools")
            try:
                self.fixed = declared_tools(tools)
            except ToolsRefused as exc:
                raise args.error("tools", f"is refused: {exc}") from None
        self._seen: dict[str, dict[str, Any] | str] = {}

    def _declared(self, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any] | str:
        """The validators of a cell's tools (built once per distinct set), or a refusal."""
        try:
            key = json.dumps(list(tools), sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            return "the offered tools are not JSON"
        found = self._seen.get(key)
        if found is None:
            try:
                found = declared_tools(tools)
            except ToolsRefused as exc:
                found = f"offered tools refused: {exc}"
            if len(self._seen) >= _CACHE_SIZE:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = found
        return found

    def score(self, ctx: ScoreContext) -> Score:
        declared = self.fixed if self.fixed is not None else self._declared(ctx.tools)
        if isinstance(declared, str):
            return self.fail(declared)
        if not declared:
            return self.fail("no tools were offered to check the calls against")
        if not ctx.tool_calls:
            return self.result(0.0, "the answer holds no tool call")
        problems = [p for p in (self._problem(call, declared) for call in ctx.tool_calls) if p]
        valid = len(ctx.tool_calls) - len(problems)
        if not problems:
            return self.result(1.0, f"{valid} tool call(s) valid: {_names(ctx.tool_calls)}")
        return self.result(valid / len(ctx.tool_calls), "; ".join(problems[:3]))

    @staticmethod
    def _problem(call: ToolCall, declared: Mapping[str, Any]) -> str | None:
        if call.name not in declared:
            offered = ", ".join(sorted(declared))
            return f"call {clip(call.name, 40)} names no offered tool ({offered})"
        if call.parse_error is not None:
            return f"call {call.name!r}: {call.parse_error}"
        validator = declared[call.name]
        if validator is None:
            return None if isinstance(call.parsed, dict) else f"call {call.name!r}: not an object"
        problem = _violation(validator, call.parsed)
        return None if problem is None else f"call {call.name!r}: arguments {problem}"


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``; ``1`` and ``1.0`` are equal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


_NO_ARGUMENTS: Any = object()


def expected_calls(raw: Any) -> list[tuple[str, Any]]:
    """``(name, arguments)`` per expected call; arguments `_NO_ARGUMENTS` when any match.

    Raises:
        ValueError: Not a list of tool names or ``{"name", "arguments"?}`` objects.
    """
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise ValueError("must be a list of tool names or {name, arguments} objects")
    calls: list[tuple[str, Any]] = []
    for item in raw:
        if isinstance(item, str) and item:
            calls.append((item, _NO_ARGUMENTS))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str) and item["name"]:
            if set(item) - {"name", "arguments"}:
                raise ValueError(f"an expected call holds only name and arguments: {item!r}")
            calls.append((item["name"], item.get("arguments", _NO_ARGUMENTS)))
        else:
            raise ValueError(f"{clip(repr(item))} is neither a tool name nor a {{name}} object")
    return calls


def _matched(expected: list[tuple[str, Any]], calls: Sequence[ToolCall]) -> int:
    """Expected calls matched one-to-one by actual calls: those pinning arguments first, so
    a name-only expectation never takes the call a specific one needs."""
    free = list(calls)
    hits = 0
    ordered = sorted(expected, key=lambda e: e[1] is _NO_ARGUMENTS)
    for name, arguments in ordered:
        for i, call in enumerate(free):
            if call.name == name and (
                arguments is _NO_ARGUMENTS or (call.ok and _same(call.parsed, arguments))
            ):
                del free[i]
                hits += 1
                break
    return hits


@register_scorer("tool-call-f1")
class ToolCallF1(BaseScorer):
    """F1 of the answer's tool calls against the expected calls: a call matches an expected
    one by name, and by arguments when the expected call gives them (JSON-equal).

    ``expected`` lists tool names or ``{"name", "arguments"}`` objects; without it, the
    case's metadata ``expected_tool_calls`` does. Passes at F1 >= ``threshold`` (default 1).
    """

    threshold_arg = "threshold"
    arguments = (
        ScorerArgument("expected", "list", "expected calls; default: the case's metadata"),
        ScorerArgument("threshold", "number", "least F1 that passes, in [0, 1]", default=1.0),
    )

    def configure(self, args: ScorerArgs) -> None:
        raw = args.optional_raw("expected")
        self.expected: list[tuple[str, Any]] | None = None
        if raw is not None:
            try:
                self.expected = expected_calls(raw)
            except ValueError as exc:
                raise args.error("expected", str(exc)) from None

    def score(self, ctx: ScoreContext) -> Score:
        expected = self.expected
        if expected is None:
            if EXPECTED_CALLS_KEY not in ctx.metadata:
                return self.fail(f"no 'expected' argument and no {EXPECTED_CALLS_KEY} metadata")
            try:
                expected = expected_calls(ctx.metadata[EXPECTED_CALLS_KEY])
            except ValueError as exc:
                return self.fail(f"case metadata {EXPECTED_CALLS_KEY} {exc}")
        calls = ctx.tool_calls
        if not expected and not calls:
            return self.result(1.0, "no tool call expected and none made")
        hits = _matched(expected, calls)
        precision = hits / len(calls) if calls else 0.0
        recall = hits / len(expected) if expected else 0.0
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        return self.result(
            f1,
            f"F1 {f1:.3g} (precision {precision:.3g}, recall {recall:.3g}): {hits} of "
            f"{len(expected)} expected call(s) matched by {_names(calls)}",
        )


class _Called(BaseScorer):
    arguments = (ScorerArgument("name", "string", "the tool; default: any tool"),)

    def configure(self, args: ScorerArgs) -> None:
        self.tool = args.text("name", required=False, non_empty=True)

    def _count(self, ctx: ScoreContext) -> int:
        return sum(1 for c in ctx.tool_calls if self.tool is None or c.name == self.tool)

    @property
    def _what(self) -> str:
        return "a tool" if self.tool is None else f"tool {self.tool!r}"


@register_scorer("tool-called")
class ToolCalled(_Called):
    """The answer calls a tool (``name``: that tool)."""

    def score(self, ctx: ScoreContext) -> Score:
        count = self._count(ctx)
        if count:
            return self.result(1.0, f"{self._what} was called ({count}x)")
        return self.result(0.0, f"{self._what} was not called: {_names(ctx.tool_calls)}")


@register_scorer("tool-not-called")
class ToolNotCalled(_Called):
    """The answer calls no tool (``name``: not that tool)."""

    def score(self, ctx: ScoreContext) -> Score:
        count = self._count(ctx)
        if not count:
            return self.result(1.0, f"{self._what} was not called")
        return self.result(0.0, f"{self._what} was called ({count}x): {_names(ctx.tool_calls)}")


def _names_list(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        raise ValueError("must be a list of tool names")
    return list(raw)


@register_scorer("tool-trajectory")
class ToolTrajectory(BaseScorer):
    """The answer's tool calls follow the expected order of tool names: ``mode`` ``exact``
    (the same names, in order, nothing else) or ``in-order`` (default: the expected names
    appear in that order, other calls may come between).

    ``expected`` lists the names; without it, the case's metadata
    ``expected_tool_trajectory`` does.
    """

    arguments = (
        ScorerArgument("expected", "list", "tool names in order; default: the case's metadata"),
        ScorerArgument("mode", "string", "exact or in-order", default="in-order"),
    )

    def configure(self, args: ScorerArgs) -> None:
        raw = args.optional_raw("expected")
        self.expected: list[str] | None = None
        if raw is not None:
            try:
                self.expected = _names_list(raw)
            except ValueError as exc:
                raise args.error("expected", str(exc)) from None
        self.mode = args.text("mode", required=False) or "in-order"
        if self.mode not in TRAJECTORY_MODES:
            raise args.error("mode", f"must be one of {', '.join(TRAJECTORY_MODES)}")

    def score(self, ctx: ScoreContext) -> Score:
        expected = self.expected
        if expected is None:
            if EXPECTED_TRAJECTORY_KEY not in ctx.metadata:
                return self.fail(
                    f"no 'expected' argument and no {EXPECTED_TRAJECTORY_KEY} metadata"
                )
            try:
                expected = _names_list(ctx.metadata[EXPECTED_TRAJECTORY_KEY])
            except ValueError as exc:
                return self.fail(f"case metadata {EXPECTED_TRAJECTORY_KEY} {exc}")
        actual = [call.name for call in ctx.tool_calls]
        if self.mode == "exact":
            if actual == expected:
                return self.result(1.0, f"calls are exactly {expected}")
            return self.result(0.0, f"calls {actual} are not exactly {expected}")
        found = 0
        for name in actual:
            if found < len(expected) and name == expected[found]:
                found += 1
        if found == len(expected):
            return self.result(1.0, f"calls {actual} follow {expected} in order")
        return self.result(
            0.0,
            f"calls {actual} follow {expected} only up to step {found}: "
            f"{expected[found]!r} is missing after that",
        )
