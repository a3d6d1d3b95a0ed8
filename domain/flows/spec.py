"""A flow as data: named steps of six kinds, parsed from plain JSON values.

Parsing checks each step's own shape and names the step in every error; the checks across
steps (references, jumps, loops, types) are :func:`domain.flows.check.check_flow`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from domain.flows.errors import flow_error
from domain.prompts.template import Template

StepKind = Literal["llm", "tool", "transform", "condition", "loop", "map", "conversation"]
STEP_KINDS: tuple[StepKind, ...] = (
    "llm",
    "tool",
    "transform",
    "condition",
    "loop",
    "map",
    "conversation",
)
MAX_STEPS = 64
MAX_ITERATIONS = 20
MAX_FAN_OUT = 100
MAX_TOOL_TIMEOUT_S = 60.0
MAX_TURNS = 20
MAX_TOOL_ROUNDS = 10
TRANSCRIPT = "transcript"
"""The variable a simulated user's prompt reads: the conversation so far, as text."""
END = "end"
"""A jump target that ends the flow."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Predicate:
    """What a condition or a loop's ``until`` tests: a variable (or a field of a parsed one,
    ``classify.label``), or the score a pure scorer gives it.

    Exactly one of ``equals``, ``one_of``, ``contains``, ``at_least`` is set; ``scorer``
    turns the value into its score first (``at_least`` then compares the score).
    """

    var: str
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    contains: str | None = None
    at_least: float | None = None
    scorer: Mapping[str, Any] | None = None

    @property
    def root(self) -> str:
        """The variable read (before any ``.field``)."""
        return self.var.split(".", 1)[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The fields read inside the variable's parsed value."""
        return tuple(self.var.split(".")[1:])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"var": self.var}
        if self.scorer is not None:
            out["scorer"] = dict(self.scorer)
        for name in ("equals", "contains", "at_least"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.one_of is not None:
            out["one_of"] = list(self.one_of)
        return out


@dataclass(frozen=True)
class User:
    """Who speaks the user's turns of a ``conversation`` step: a script or a model.

    Exactly one of ``script`` (a case variable holding a list of user messages, said in
    order) and ``prompt`` (a prompt ref, rendered each turn with the flow's variables and
    `TRANSCRIPT`, whose answer is the user's next message) is set.

    Attributes:
        script: The variable holding the scripted turns.
        prompt: The simulated user's prompt ref.
        model: The simulated user's model (default: the cell's).
        inputs: Prompt variable → flow variable, as an ``llm`` step's.
        stop: The conversation ends when the simulated user's message contains this text.
    """

    script: str | None = None
    prompt: str | None = None
    model: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    stop: str | None = None

    @property
    def prompt_name(self) -> str:
        """The prompt of the user's ref."""
        return split_ref(self.prompt)[0]

    @property
    def promptsplit_ref(self) -> str:
        """The version part of the user's ref (``main`` when none is given)."""
        return split_ref(self.prompt)[1]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("script", "prompt", "model", "stop"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.inputs:
            out["inputs"] = dict(self.inputs)
        return out


def split_ref(prompt: str | None) -> tuple[str, str]:
    """``(name, ref)`` of a prompt ref ``name@ref`` (``ref`` is ``main`` when none)."""
    name, at, ref = (prompt or "").rpartition("@")
    return (name, ref) if at and name else (prompt or "", "main")


@dataclass(frozen=True)
class Step:
    """One step; which fields matter depends on ``kind``.

    Attributes:
        name: Unique in the flow; names the step in traces and errors.
        kind: One of `STEP_KINDS`.
        output: The variable the step writes (default: its name).
        prompt: ``llm``: a prompt ref ``name@ref`` (ref: a version, branch or label).
        model: ``llm``: a model overriding the run's.
        inputs: ``llm``/``tool``: argument or prompt variable → flow variable.
        parse: ``llm``: ``"text"`` or ``"json"`` (the output is parsed, fields readable).
        tool: ``tool``: the registered tool's name.
        timeout_s: ``tool`` (and ``llm`` with ``tools``): how long a tool call may take.
        template: ``transform``: a ``{{ variable }}`` text over earlier variables.
        when: ``condition``/``loop``: the test (``loop``: stop once it holds).
        then, otherwise: ``condition``: the step to go to when the test holds / does not.
        next: any step: where to go after it (default: the next step in the list).
        body: ``loop``/``map``: the steps repeated.
        max_iterations: ``loop``: the bound, required.
        over: ``map``: the list variable; ``item``: the body's name for each element.
        max_items: ``map``: the fan-out bound, required; ``collect``: the body variable
            gathered into the map's output list.
        scorers: ``llm``/``tool``/``transform``/``conversation``: pure scorer specs scored
            on the step's output (recorded as ``<step>.<scorer>`` scores; the cell's verdict
            is the run's scorers' alone).
        tools: ``llm``: registered tools offered to the model; its tool calls are executed
            and their results fed back until it answers in text.
        max_tool_rounds: ``llm``: the most rounds of tool calls (1..`MAX_TOOL_ROUNDS`).
        user: ``conversation``: who speaks the user's turns.
        max_turns: ``conversation``: the most assistant turns, required.
    """

    name: str
    kind: StepKind
    output: str
    prompt: str | None = None
    model: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    parse: Literal["text", "json"] = "text"
    tool: str | None = None
    timeout_s: float = 10.0
    template: Template | None = None
    when: Predicate | None = None
    then: str | None = None
    otherwise: str | None = None
    next: str | None = None
    body: tuple[Step, ...] = ()
    max_iterations: int | None = None
    over: str | None = None
    item: str = "item"
    max_items: int | None = None
    collect: str | None = None
    scorers: tuple[Mapping[str, Any], ...] = ()
    tools: tuple[str, ...] = ()
    max_tool_rounds: int = 3
    user: User | None = None
    max_turns: int | None = None

    @property
    def prompt_name(self) -> str:
        """The prompt of an ``llm`` or ``conversation`` step's ref."""
        return split_ref(self.prompt)[0]

    @property
    def promptsplit_ref(self) -> str:
        """The version part of the step's ref (``main`` when none is given)."""
        return split_ref(self.prompt)[1]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.output != self.name:
            out["output"] = self.output
        for key in ("prompt", "model", "tool", "then", "otherwise", "next", "over", "collect"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.inputs:
            out["inputs"] = dict(self.inputs)
        if self.kind == "llm" and self.parse != "text":
            out["parse"] = self.parse
        if self.kind == "tool":
            out["timeout_s"] = self.timeout_s
        if self.template is not None:
            out["template"] = self.template.text
        if self.when is not None:
            out["when"] = self.when.to_dict()
        if self.body:
            out["body"] = [step.to_dict() for step in self.body]
        for key in ("max_iterations", "max_items", "max_turns"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.tools:
            out["tools"] = list(self.tools)
            out["max_tool_rounds"] = self.max_tool_rounds
            out["timeout_s"] = self.timeout_s
        if self.user is not None:
            out["user"] = self.user.to_dict()
        if self.kind == "map":
            out["item"] = self.item
        if self.scorers:
            out["scorers"] = [dict(spec) for spec in self.scorers]
        return out


@dataclass(frozen=True)
class Flow:
    """A flow: its inputs (case variables it reads), its steps and the variable it answers.

    Examples:
        >>> flow = Flow.from_dict({"inputs": ["q"], "output": "answer", "steps": [
        ...     {"name": "answer", "kind": "transform", "template": "A: {{ q }}"}]})
        >>> flow.steps[0].kind
        'transform'
    """

    inputs: tuple[str, ...]
    steps: tuple[Step, ...]
    output: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-safe form (what is versioned and hashed)."""
        out: dict[str, Any] = {
            "inputs": list(self.inputs),
            "output": self.output,
            "steps": [step.to_dict() for step in self.steps],
        }
        if self.description:
            out["description"] = self.description
        return out

    def walk(self) -> list[Step]:
        """Every step, bodies included, depth first."""
        found: list[Step] = []

        def visit(steps: Sequence[Step]) -> None:
            for step in steps:
                found.append(step)
                visit(step.body)

        visit(self.steps)
        return found

    @classmethod
    def from_dict(cls, data: object) -> Flow:
        """Parse a flow, checking each step's shape (not yet the references across steps).

        Raises:
            ValidationError: ``reason="invalid-flow"`` / ``"invalid-step"`` /
                ``"unbounded-loop"``..., with ``step`` in details when a step is at fault.
        """
        if not isinstance(data, Mapping):
            raise flow_error("a flow is a mapping with inputs, steps and output", "invalid-flow")
        unknown = sorted(set(data) - {"inputs", "steps", "output", "description"})
        if unknown:
            raise flow_error(f"unknown flow fields: {', '.join(unknown)}", "invalid-flow")
        inputs = data.get("inputs", [])
        if not isinstance(inputs, list) or not all(
            isinstance(i, str) and _NAME.fullmatch(i) for i in inputs
        ):
            raise flow_error("inputs must be a list of variable names", "invalid-flow")
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            raise flow_error("a flow needs a non-empty list of steps", "invalid-flow")
        output = data.get("output")
        if not isinstance(output, str) or not output:
            raise flow_error("output must name the variable the flow answers", "invalid-flow")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise flow_error("description must be a string", "invalid-flow")
        flow = cls(
            tuple(inputs), tuple(_step(s, i) for i, s in enumerate(steps)), output, description
        )
        if len(flow.walk()) > MAX_STEPS:
            raise flow_error(f"a flow has at most {MAX_STEPS} steps", "invalid-flow")
        return flow


_COMMON = {"name", "kind", "output", "next"}
_FIELDS: dict[str, set[str]] = {
    "llm": {
        "prompt",
        "model",
        "inputs",
        "parse",
        "scorers",
        "tools",
        "max_tool_rounds",
        "timeout_s",
    },
    "tool": {"tool", "inputs", "timeout_s", "scorers"},
    "transform": {"template", "scorers"},
    "condition": {"when", "then", "otherwise"},
    "loop": {"when", "body", "max_iterations"},
    "map": {"over", "item", "body", "max_items", "collect"},
    "conversation": {"prompt", "model", "inputs", "user", "max_turns", "scorers"},
}


def _step(data: object, index: int) -> Step:
    if not isinstance(data, Mapping):
        raise flow_error(f"step #{index + 1} is not a mapping", "invalid-step")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == END:
        raise flow_error(
            f"step #{index + 1} {str(name)[:64]!r}: a step name is a letter or '_' then "
            "letters, digits or '_' (and not 'end')",
            "invalid-step",
            step=str(name)[:64] if name is not None else f"#{index + 1}",
        )
    kind = data.get("kind")
    if kind not in STEP_KINDS:
        raise flow_error(
            f"step {name!r}: kind must be one of {', '.join(STEP_KINDS)}", "invalid-step", name
        )
    extra = sorted(set(data) - _COMMON - _FIELDS[kind])
    if extra:
        raise flow_error(
            f"step {name!r}: fields not allowed on a {kind} step: {', '.join(extra)}",
            "invalid-step",
            name,
        )
    output = _var(data.get("output", name), name, "output")
    nxt = _optional_name(data.get("next"), name, "next")
    step = _BUILDERS[kind](data, name, output, nxt)
    if "scorers" not in data:
        return step
    specs = data["scorers"]
    if not isinstance(specs, list) or not all(isinstance(spec, Mapping) for spec in specs):
        raise flow_error(
            f"step {name!r}: scorers must be a list of scorer specs", "invalid-step", name
        )
    return replace(step, scorers=tuple(dict(spec) for spec in specs))


def _var(value: object, step: str, field_name: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise flow_error(
            f"step {step!r}: {field_name} must be a variable name", "invalid-step", step
        )
    return value


def _optional_name(value: object, step: str, field_name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not (_NAME.fullmatch(value) or value == END):
        raise flow_error(
            f"step {step!r}: {field_name} must name a step or 'end'", "invalid-step", step
        )
    return value


def _bound(value: object, step: str, field_name: str, limit: int, reason: str) -> int:
    if value is None:
        raise flow_error(
            f"step {step!r}: {field_name} is required (1..{limit}): unbounded steps are refused",
            reason,
            step,
        )
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise flow_error(f"step {step!r}: {field_name} must be 1..{limit}", reason, step)
    return value


def _inputs(value: object, step: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and _NAME.fullmatch(k) and isinstance(v, str) for k, v in value.items()
    ):
        raise flow_error(
            f"step {step!r}: inputs map argument names to variables", "invalid-step", step
        )
    return dict(value)


def _body(value: object, step: str) -> tuple[Step, ...]:
    if not isinstance(value, list) or not value:
        raise flow_error(
            f"step {step!r}: body must be a non-empty list of steps", "invalid-step", step
        )
    return tuple(_step(s, i) for i, s in enumerate(value))


def _predicate(value: object, step: str) -> Predicate:
    if not isinstance(value, Mapping) or not isinstance(value.get("var"), str):
        raise flow_error(f"step {step!r}: when needs a var to test", "invalid-step", step)
    allowed = {"var", "equals", "one_of", "contains", "at_least", "scorer"}
    extra = sorted(set(value) - allowed)
    tests = [k for k in ("equals", "one_of", "contains", "at_least") if k in value]
    if extra or len(tests) != 1:
        raise flow_error(
            f"step {step!r}: when has a var and exactly one of equals, one_of, contains, "
            "at_least (and optionally a scorer)",
            "invalid-step",
            step,
        )
    var = value["var"]
    if not all(_NAME.fullmatch(part) for part in var.split(".")):
        raise flow_error(
            f"step {step!r}: when.var {var[:64]!r} is not a variable", "invalid-step", step
        )
    one_of = value.get("one_of")
    if one_of is not None and not isinstance(one_of, list):
        raise flow_error(f"step {step!r}: one_of must be a list", "flow-type-error", step)
    contains = value.get("contains")
    if contains is not None and not isinstance(contains, str):
        raise flow_error(f"step {step!r}: contains must be a string", "flow-type-error", step)
    at_least = value.get("at_least")
    if at_least is not None and (
        isinstance(at_least, bool) or not isinstance(at_least, int | float)
    ):
        raise flow_error(f"step {step!r}: at_least must be a number", "flow-type-error", step)
    scorer = value.get("scorer")
    if scorer is not None and not isinstance(scorer, Mapping):
        raise flow_error(
            f"step {step!r}: scorer must be a scorer spec mapping", "invalid-step", step
        )
    if scorer is not None and at_least is None:
        raise flow_error(
            f"step {step!r}: a scorer's score is tested with at_least", "flow-type-error", step
        )
    return Predicate(
        var=var,
        equals=value.get("equals"),
        one_of=None if one_of is None else tuple(one_of),
        contains=contains,
        at_least=None if at_least is None else float(at_least),
        scorer=None if scorer is None else dict(scorer),
    )


def _llm(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise flow_error(
            f"step {name!r}: an llm step needs a prompt ref (name@ref)", "invalid-step", name
        )
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise flow_error(f"step {name!r}: model must be a model name", "invalid-step", name)
    parse = data.get("parse", "text")
    if parse not in ("text", "json"):
        raise flow_error(f"step {name!r}: parse is 'text' or 'json'", "invalid-step", name)
    tools = data.get("tools", [])
    if not isinstance(tools, list) or not all(
        isinstance(t, str) and _NAME.fullmatch(t) for t in tools
    ):
        raise flow_error(f"step {name!r}: tools is a list of tool names", "invalid-step", name)
    rounds = data.get("max_tool_rounds", 3)
    if (
        isinstance(rounds, bool)
        or not isinstance(rounds, int)
        or not 1 <= rounds <= MAX_TOOL_ROUNDS
    ):
        raise flow_error(
            f"step {name!r}: max_tool_rounds must be 1..{MAX_TOOL_ROUNDS}", "invalid-step", name
        )
    return Step(
        name,
        "llm",
        output,
        prompt=prompt,
        model=model,
        inputs=_inputs(data.get("inputs"), name),
        parse=parse,
        next=nxt,
        tools=tuple(dict.fromkeys(tools)),
        max_tool_rounds=rounds,
        timeout_s=_timeout(data.get("timeout_s", 10.0), name),
    )


def _conversation(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise flow_error(
            f"step {name!r}: a conversation needs the assistant's prompt ref (name@ref)",
            "invalid-step",
            name,
        )
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise flow_error(f"step {name!r}: model must be a model name", "invalid-step", name)
    bound = _bound(data.get("max_turns"), name, "max_turns", MAX_TURNS, "unbounded-conversation")
    return Step(
        name,
        "conversation",
        output,
        prompt=prompt,
        model=model,
        inputs=_inputs(data.get("inputs"), name),
        user=_user(data.get("user"), name),
        max_turns=bound,
        next=nxt,
    )


def _user(value: object, step: str) -> User:
    if not isinstance(value, Mapping) or sorted(
        set(value) - {"script", "prompt", "model", "inputs", "stop"}
    ):
        raise flow_error(
            f"step {step!r}: user is a mapping of script, or of prompt (model, inputs, stop)",
            "invalid-step",
            step,
        )
    script, prompt = value.get("script"), value.get("prompt")
    if (script is None) == (prompt is None):
        raise flow_error(
            f"step {step!r}: user needs exactly one of script (a variable) and prompt (a ref)",
            "invalid-step",
            step,
        )
    if script is not None:
        if set(value) != {"script"}:
            raise flow_error(
                f"step {step!r}: a scripted user takes only script", "invalid-step", step
            )
        return User(script=_var(script, step, "user.script"))
    if not isinstance(prompt, str) or not prompt.strip():
        raise flow_error(f"step {step!r}: user.prompt must be a prompt ref", "invalid-step", step)
    model, stop = value.get("model"), value.get("stop")
    if model is not None and (not isinstance(model, str) or not model):
        raise flow_error(f"step {step!r}: user.model must be a model name", "invalid-step", step)
    if stop is not None and (not isinstance(stop, str) or not stop):
        raise flow_error(f"step {step!r}: user.stop must be a text", "invalid-step", step)
    return User(prompt=prompt, model=model, inputs=_inputs(value.get("inputs"), step), stop=stop)


def _tool(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    tool = data.get("tool")
    if not isinstance(tool, str) or not _NAME.fullmatch(tool):
        raise flow_error(
            f"step {name!r}: a tool step names a registered tool", "invalid-step", name
        )
    timeout = _timeout(data.get("timeout_s", 10.0), name)
    return Step(
        name,
        "tool",
        output,
        tool=tool,
        inputs=_inputs(data.get("inputs"), name),
        timeout_s=timeout,
        next=nxt,
    )


def _timeout(value: object, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TOOL_TIMEOUT_S
    ):
        raise flow_error(
            f"step {name!r}: timeout_s must be in (0, {MAX_TOOL_TIMEOUT_S:g}]", "invalid-step", name
        )
    return float(value)


def _transform(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    text = data.get("template")
    if not isinstance(text, str) or not text.strip():
        raise flow_error(f"step {name!r}: a transform needs a template text", "invalid-step", name)
    return Step(name, "transform", output, template=Template.from_text(text), next=nxt)


def _condition(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    then = _optional_name(data.get("then"), name, "then")
    otherwise = _optional_name(data.get("otherwise"), name, "otherwise")
    if then is None and otherwise is None:
        raise flow_error(
            f"step {name!r}: a condition needs then and/or otherwise", "invalid-step", name
        )
    return Step(
        name,
        "condition",
        output,
        when=_predicate(data.get("when"), name),
        then=then,
        otherwise=otherwise,
        next=nxt,
    )


def _loop(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    bound = _bound(
        data.get("max_iterations"), name, "max_iterations", MAX_ITERATIONS, "unbounded-loop"
    )
    when = None if data.get("when") is None else _predicate(data["when"], name)
    return Step(
        name,
        "loop",
        output,
        when=when,
        body=_body(data.get("body"), name),
        max_iterations=bound,
        next=nxt,
    )


def _map(data: Mapping[str, Any], name: str, output: str, nxt: str | None) -> Step:
    over = data.get("over")
    if not isinstance(over, str) or not _NAME.fullmatch(over):
        raise flow_error(
            f"step {name!r}: a map step needs over: a list variable", "invalid-step", name
        )
    bound = _bound(data.get("max_items"), name, "max_items", MAX_FAN_OUT, "unbounded-map")
    item = _var(data.get("item", "item"), name, "item")
    collect = None if data.get("collect") is None else _var(data["collect"], name, "collect")
    return Step(
        name,
        "map",
        output,
        over=over,
        item=item,
        body=_body(data.get("body"), name),
        max_items=bound,
        collect=collect,
        next=nxt,
    )


_BUILDERS = {
    "llm": _llm,
    "tool": _tool,
    "transform": _transform,
    "condition": _condition,
    "loop": _loop,
    "map": _map,
    "conversation": _conversation,
}
