"""Checks across a flow's steps, run at commit: every error names the step at fault.

Within a block (the flow's steps, or a loop's or map's body) steps run in order; ``next``,
``then`` and ``otherwise`` jump to a step of the same block or to ``end``. The jump graph
must be acyclic (repetition is the bounded ``loop`` step's), and a variable may be read
only where every path to the reader has written it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from domain.errors import NotFoundError, ValidationError
from domain.flows.errors import flow_error
from domain.flows.spec import END, TRANSCRIPT, Flow, Predicate, Step, split_ref
from domain.scoring import PureScorer, build_scorers

VarType = str
"""``text``, ``json`` (parsed: fields readable), ``list``, ``bool`` or ``any``."""

MAX_STEP_RUNS = 1_000
"""The most steps one case may run, nested loops and maps at their bounds."""

PromptVariables = Callable[[str, str], Sequence[str]]
"""Given a prompt name and ref, its template's variables; raises NotFoundError if none."""


@dataclass(frozen=True)
class Known:
    """What can be checked beyond the flow itself; ``None`` leaves that check to run time."""

    tools: Collection[str] | None = None
    prompt_variables: PromptVariables | None = None


def check_flow(flow: Flow, known: Known | None = None) -> None:
    """Refuse a flow with duplicate steps, bad jumps, cycles, unknown refs or type errors.

    Raises:
        ValidationError: a reason of :mod:`domain.flows.errors` with ``step`` in details.
    """
    known = known or Known()
    seen: set[str] = set()
    for step in flow.walk():
        if step.name in seen:
            raise flow_error(
                f"step {step.name!r}: two steps have this name", "duplicate-step", step.name
            )
        seen.add(step.name)
        _step_scorers(step)
        named = [step.tool] if step.kind == "tool" else list(step.tools)
        for tool in named:
            if known.tools is not None and tool not in known.tools:
                raise flow_error(
                    f"step {step.name!r}: tool {tool!r} is not registered",
                    "unknown-tool",
                    step.name,
                )
    _check_work(flow.steps)
    exit_types = _block(flow.steps, dict.fromkeys(flow.inputs, "any"), known)
    if flow.output not in exit_types:
        raise flow_error(
            f"flow output {flow.output!r} is not written on every path to the end",
            "unknown-variable",
        )


def worst_case_steps(steps: Sequence[Step]) -> int:
    """How many steps one execution of ``steps`` may run at most (every loop at its bound,
    every map at its fan-out)."""
    total = 0
    for step in steps:
        total += 1
        if step.kind == "loop":
            total += (step.max_iterations or 0) * worst_case_steps(step.body)
        elif step.kind == "map":
            total += (step.max_items or 0) * worst_case_steps(step.body)
    return total


def _check_work(steps: Sequence[Step]) -> None:
    """Refuse nested loops and maps whose bounds multiply past `MAX_STEP_RUNS` per case."""
    for step in steps:
        if step.kind in ("loop", "map") and worst_case_steps([step]) > MAX_STEP_RUNS:
            raise flow_error(
                f"step {step.name!r} may run {worst_case_steps([step]):,} steps per case, over "
                f"{MAX_STEP_RUNS:,}: lower its bounds (or its body's)",
                "unbounded-map" if step.kind == "map" else "unbounded-loop",
                step.name,
            )


def _step_scorers(step: Step) -> None:
    """A step's own scorers: valid specs (unique names) of pure scorers: no model, no code."""
    if not step.scorers:
        return
    try:
        built = build_scorers([dict(spec) for spec in step.scorers])
    except ValidationError as exc:
        raise flow_error(f"step {step.name!r}: {exc.message}", "invalid-step", step.name) from None
    for scorer in built:
        if not isinstance(scorer, PureScorer) or scorer.needs is not None:
            raise flow_error(
                f"step {step.name!r}: scorer {scorer.name!r} calls a model or runs code; a "
                "step takes pure scorers only (score the final output with the run's)",
                "invalid-step",
                step.name,
            )


def _targets(steps: Sequence[Step], index: int) -> list[str]:
    step = steps[index]
    after = step.next or (steps[index + 1].name if index + 1 < len(steps) else END)
    if step.kind == "condition":
        return [step.then or after, step.otherwise or after]
    return [after]


def _block(steps: Sequence[Step], entry: Mapping[str, VarType], known: Known) -> dict[str, VarType]:
    """Check one block; return the variables (and types) written on every path to its end."""
    position = {step.name: i for i, step in enumerate(steps)}
    edges: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        edges[step.name] = _targets(steps, i)
        for target in edges[step.name]:
            if target != END and target not in position:
                raise flow_error(
                    f"step {step.name!r} jumps to {target!r}, not a step of its block",
                    "unknown-step",
                    step.name,
                )
    order = _topological(steps[0].name, edges)
    incoming: dict[str, list[dict[str, VarType]]] = {steps[0].name: [dict(entry)]}
    ends: list[dict[str, VarType]] = []
    for name in order:
        step = steps[position[name]]
        before = _meet(incoming[name])
        after = _step(step, before, known)
        for target in edges[name]:
            (ends if target == END else incoming.setdefault(target, [])).append(after)
    return _meet(ends)


def _topological(start: str, edges: Mapping[str, list[str]]) -> list[str]:
    """The steps reachable from ``start`` in an order where each comes after its
    predecessors; refuses a cycle, naming the step whose jump closes it."""
    state: dict[str, int] = {}
    order: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        for target in edges[node]:
            if target == END:
                continue
            if state.get(target) == 1:
                raise flow_error(
                    f"step {node!r} jumps back to {target!r}: a cycle (use a loop step, "
                    "which is bounded)",
                    "flow-cycle",
                    node,
                )
            if target not in state:
                visit(target)
        state[node] = 2
        order.append(node)

    visit(start)
    return order[::-1]


def _meet(paths: Sequence[Mapping[str, VarType]]) -> dict[str, VarType]:
    if not paths:
        return {}
    common = set(paths[0]).intersection(*paths[1:])
    return {
        name: paths[0][name] if all(p[name] == paths[0][name] for p in paths) else "any"
        for name in common
    }


def _need(step: Step, name: str, scope: Mapping[str, VarType], what: str) -> VarType:
    root = name.split(".", 1)[0]
    if root not in scope:
        raise flow_error(
            f"step {step.name!r}: {what} reads {root!r}, which is not written on every path "
            "to this step",
            "unknown-variable",
            step.name,
        )
    kind = scope[root]
    if "." in name and kind not in ("json", "any"):
        raise flow_error(
            f"step {step.name!r}: {what} reads a field of {root!r}, a {kind} value "
            "(give the step that writes it parse: json)",
            "flow-type-error",
            step.name,
        )
    return "any" if "." in name else kind


def _predicate(step: Step, when: Predicate, scope: Mapping[str, VarType]) -> None:
    kind = _need(step, when.var, scope, "its test")
    if when.at_least is not None and when.scorer is None and kind in ("text", "list", "bool"):
        raise flow_error(
            f"step {step.name!r}: at_least compares a number, but {when.root!r} is {kind}",
            "flow-type-error",
            step.name,
        )
    if when.contains is not None and kind == "bool":
        raise flow_error(
            f"step {step.name!r}: contains needs text or a list, {when.root!r} is bool",
            "flow-type-error",
            step.name,
        )
    if when.scorer is not None:
        try:
            build_scorers([dict(when.scorer)])
        except ValidationError as exc:  # the scorer spec's own error, said for the step
            message = exc.message
            raise flow_error(f"step {step.name!r}: {message}", "invalid-step", step.name) from None


def _prompt(
    step: Step,
    ref: str,
    inputs: Mapping[str, str],
    scope: Mapping[str, VarType],
    known: Known,
    what: str = "",
) -> None:
    """A prompt ref's variables are all written (the prompt itself exists, when known)."""
    for variable in inputs.values():
        _need(step, variable, scope, f"an {what}input")
    if known.prompt_variables is None:
        return
    name, version = split_ref(ref)
    try:
        wanted = known.prompt_variables(name, version)
    except (NotFoundError, ValidationError) as exc:
        raise flow_error(
            f"step {step.name!r}: {what}prompt {ref!r}: {exc.message}",
            "unknown-prompt",
            step.name,
        ) from None
    for variable in wanted:
        _need(step, inputs.get(variable, variable), scope, f"its {what}prompt")


def _step(step: Step, scope: dict[str, VarType], known: Known) -> dict[str, VarType]:
    out = dict(scope)
    if step.kind == "llm":
        _prompt(step, step.prompt or "", step.inputs, scope, known)
        out[step.output] = "json" if step.parse == "json" else "text"
    elif step.kind == "conversation":
        _prompt(step, step.prompt or "", step.inputs, scope, known)
        user = step.user
        assert user is not None
        if user.script is not None:
            kind = _need(step, user.script, scope, "its user script")
            if kind in ("text", "bool", "json"):
                raise flow_error(
                    f"step {step.name!r}: the user script {user.script!r} is a {kind} value, "
                    "not a list of messages",
                    "flow-type-error",
                    step.name,
                )
        else:
            with_transcript = {**scope, TRANSCRIPT: "text"}
            _prompt(step, user.prompt or "", user.inputs, with_transcript, known, "user.")
        out[step.output] = "text"
    elif step.kind == "tool":
        for variable in step.inputs.values():
            _need(step, variable, scope, "an input")
        out[step.output] = "any"
    elif step.kind == "transform":
        assert step.template is not None
        for variable in step.template.variables:
            _need(step, variable, scope, "its template")
        out[step.output] = "text"
    elif step.kind == "condition":
        assert step.when is not None
        _predicate(step, step.when, scope)
        out[step.output] = "bool"
    elif step.kind == "loop":
        inner = _block(step.body, scope, known)
        if step.when is not None:
            _predicate(step, step.when, inner)
        out.update(inner)
        out[step.output] = inner.get(step.body[-1].output, "any")
    elif step.kind == "map":
        assert step.over is not None
        kind = _need(step, step.over, scope, "over")
        if kind in ("text", "bool"):
            raise flow_error(
                f"step {step.name!r}: maps over {step.over!r}, a {kind} value, not a list "
                "(give its step parse: json)",
                "flow-type-error",
                step.name,
            )
        inner = _block(step.body, {**scope, step.item: "any"}, known)
        collect = step.collect or step.body[-1].output
        if collect not in inner:
            raise flow_error(
                f"step {step.name!r}: collects {collect!r}, not written on every path of its body",
                "unknown-variable",
                step.name,
            )
        out[step.output] = "list"
    return out
