"""Executing one flow for one case: each step in turn, every LLM call through the cell's
LLM client (limits, response cache, budget, fallback), tools bounded in time, a trace entry
per step.

The interpreter owns no I/O of its own: it is handed the client's ``complete`` and the
registered tools. A step that fails stops the flow; the cell records the error with the
trace up to it. A budget refusal stops the flow without recording the cell (as a cell).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.datasets import TestCase
from domain.errors import NexusError
from domain.flows import END, TRANSCRIPT, Flow, Step, holds, lookup, parse_output
from domain.llm.tool_calls import ToolCall
from domain.prompts import ModelSettings, Rendered, Template
from domain.scoring import PureScorer, ScoreContext, build_scorers
from engine.llm import CompletionRequest
from engine.llm.types import CompletionResult

MAX_TRACE_TEXT = 2_000
"""Characters of a step's inputs or output kept in the trace (the output itself is whole)."""
MAX_TRACE_STEPS = 500

Complete = Callable[[CompletionRequest], Awaitable[CompletionResult]]


@dataclass(frozen=True)
class PinnedPrompt:
    """The prompt version an ``llm`` step calls, resolved when the run started."""

    ref: str
    version_id: str
    template: Template
    settings: ModelSettings


@dataclass(frozen=True)
class FlowPlan:
    """A flow version ready to run: its steps' prompts pinned, its tools looked up."""

    flow: Flow
    prompts: Mapping[str, PinnedPrompt]
    tools: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    tool_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The OpenAI ``tools`` item of each tool an ``llm`` step offers its model."""
    built: dict[str, list[Any]] = field(default_factory=dict, compare=False, repr=False)
    """Each step's own scorers, built once per plan (per evaluator) on first use."""

    def scorers_of(self, step: Step) -> list[Any]:
        """``step``'s pure scorers, built."""
        found = self.built.get(step.name)
        if found is None:
            found = self.built[step.name] = build_scorers([dict(s) for s in step.scorers])
        return found


@dataclass(frozen=True)
class CellCall:
    """What every LLM call of one flow cell shares."""

    route: Mapping[str, Any]
    params: Mapping[str, Any]
    repeat: int
    cache: bool
    run_id: str
    owner: str
    call_id: str


@dataclass
class FlowOutcome:
    """What one execution produced; ``budget_exceeded``: stopped before a refused call."""

    output: str | None = None
    error: str | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    budget_exceeded: bool = False
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    attempts: int = 0
    calls: int = 0
    cached_calls: int = 0
    model_used: str | None = None
    fallback_model: str | None = None
    step_scores: dict[str, list[float]] = field(default_factory=dict)
    """``<step>.<scorer>`` → the scores of each time the step ran (a loop or map: several)."""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """The conversation scorers see: the last ``conversation`` step's, else the last
    ``llm`` step's messages and answer."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """Every tool call the models made, in order."""
    tools: list[Mapping[str, Any]] = field(default_factory=list)
    """The tools offered to the models (OpenAI format), each once."""
    conversed: bool = False
    """A ``conversation`` step ran: its transcript is the one scorers see."""

    @property
    def cached(self) -> bool:
        """Every LLM call of the flow was answered from the response cache."""
        return self.calls > 0 and self.cached_calls == self.calls


class _Stop(Exception):
    """A step failed (or a budget refused a call): the flow ends here."""

    def __init__(self, message: str, *, budget: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.budget = budget


class FlowExecution:
    """One flow cell's execution; make one per cell and ``await run()``."""

    def __init__(self, plan: FlowPlan, case: TestCase, call: CellCall, complete: Complete) -> None:
        self.plan = plan
        self.case = case
        self.call = call
        self.complete = complete
        self.outcome = FlowOutcome()

    async def run(self) -> FlowOutcome:
        """Execute the flow; never raises for a step's failure (it is in ``error``)."""
        flow: Flow = self.plan.flow
        scope: dict[str, Any] = {name: self.case.variables.get(name) for name in flow.inputs}
        scope.update({k: v for k, v in self.case.variables.items() if k not in scope})
        try:
            await self._block(flow.steps, scope, "")
            value = scope[flow.output]
            self.outcome.output = value if isinstance(value, str) else _json(value)
        except _Stop as stop:
            self.outcome.error = stop.message
            self.outcome.budget_exceeded = stop.budget
        return self.outcome

    async def _block(self, steps: Sequence[Step], scope: dict[str, Any], path: str) -> None:
        position = {step.name: i for i, step in enumerate(steps)}
        index: int | None = 0
        while index is not None:
            step = steps[index]
            jump = await self._traced(step, scope, path)
            target = jump or step.next
            if target is None:
                index = index + 1 if index + 1 < len(steps) else None
            else:
                index = None if target == END else position[target]

    async def _traced(self, step: Step, scope: dict[str, Any], path: str) -> str | None:
        entry: dict[str, Any] = {"step": step.name, "kind": step.kind, "path": path + step.name}
        started = time.perf_counter()
        try:
            jump = await self._step(step, scope, path, entry)
        except _Stop as stop:
            entry["error"] = stop.message
            raise
        except NexusError as exc:
            entry["error"] = f"{exc.code}: {exc.message}"
            raise _Stop(f"step {step.name!r}: {exc.message}") from None
        finally:
            entry["wall_ms"] = round((time.perf_counter() - started) * 1000, 3)
            self._trace(entry)
        if step.output in scope:
            entry["output"] = _preview(scope[step.output])
            if step.scorers:
                entry["scores"] = self._score_step(step, scope[step.output])
        return jump

    def _score_step(self, step: Step, value: Any) -> dict[str, float]:
        text = value if isinstance(value, str) else _json(value)
        context = ScoreContext(
            output=text,
            expected=self.case.expected,
            variables=self.case.variables,
            metadata=self.case.metadata,
        )
        scores: dict[str, float] = {}
        for scorer in self.plan.scorers_of(step):
            score = scorer.score(context)
            scores[score.name] = score.value
            self.outcome.step_scores.setdefault(f"{step.name}.{score.name}", []).append(score.value)
        return scores

    async def _step(
        self, step: Step, scope: dict[str, Any], path: str, entry: dict[str, Any]
    ) -> str | None:
        if step.kind == "llm":
            await self._llm(step, scope, path, entry)
        elif step.kind == "tool":
            await self._tool(step, scope, entry)
        elif step.kind == "transform":
            assert step.template is not None
            values = {name: _read(scope, name, step) for name in step.template.variables}
            entry["inputs"] = {k: _preview(v) for k, v in values.items()}
            scope[step.output] = step.template.render(values).text
        elif step.kind == "condition":
            assert step.when is not None
            result = holds(step.when, scope, self._score)
            scope[step.output] = result
            return step.then if result else step.otherwise
        elif step.kind == "loop":
            await self._loop(step, scope, path, entry)
        elif step.kind == "map":
            await self._map(step, scope, path, entry)
        elif step.kind == "conversation":
            await self._conversation(step, scope, path, entry)
        return None

    def _render(
        self, step: Step, key: str, inputs: Mapping[str, str], scope: Mapping[str, Any]
    ) -> tuple[PinnedPrompt, Rendered, dict[str, Any], dict[str, Any]]:
        """The pinned prompt ``key`` rendered with the flow's variables: the prompt, its
        messages, its call's params and the values it read."""
        pinned = self.plan.prompts[key]
        values = {
            name: _read(scope, inputs.get(name, name), step) for name in pinned.template.variables
        }
        own = {
            k: v for k, v in pinned.settings.as_params().items() if k != "model" and v is not None
        }
        return pinned, pinned.template.render(values), {**own, **self.call.params}, values

    async def _ask(
        self,
        step: Step,
        model: str | None,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any],
        path: str,
        entry: dict[str, Any],
    ) -> CompletionResult:
        """One LLM call of the step through the cell's client; its usage is counted into
        ``entry``; a provider error (or a budget refusal) stops the flow."""
        route = {"model": model} if model else dict(self.call.route)
        answer = await self.complete(
            CompletionRequest(
                **route,
                messages=messages,
                params=params,
                repeat_index=self.call.repeat,
                cache=self.call.cache,
                run_id=self.call.run_id,
                user_id=self.call.owner,
                call_id=f"{self.call.call_id}:{path}",
            )
        )
        self._count(answer, entry)
        if answer.error is not None:
            entry["error"] = f"{answer.error.kind}: {answer.error.message}"
            raise _Stop(
                f"step {step.name!r}: {answer.error.kind}: {answer.error.message}",
                budget=answer.error.kind == "budget",
            )
        return answer

    async def _llm(
        self, step: Step, scope: dict[str, Any], path: str, entry: dict[str, Any]
    ) -> None:
        pinned, rendered, params, values = self._render(step, step.name, step.inputs, scope)
        entry["inputs"] = {k: _preview(v) for k, v in values.items()}
        entry["prompt_version"] = pinned.version_id
        messages: list[dict[str, Any]] = (
            rendered.with_history(self.case.messages) if self.case.messages else rendered.as_dicts()
        )
        offered = [self.plan.tool_schemas[name] for name in step.tools] if step.tools else None
        if offered:
            params = {**params, "tools": offered}
            self.outcome.tools.extend(t for t in offered if t not in self.outcome.tools)
        here = f"{path}{step.name}"
        answer = await self._ask(step, step.model, messages, params, here, entry)
        rounds = 0
        while answer.tool_calls and offered:
            if rounds == step.max_tool_rounds:
                raise _Stop(
                    f"step {step.name!r}: the model still calls tools after "
                    f"{step.max_tool_rounds} rounds (max_tool_rounds)"
                )
            entry.setdefault("tool_calls", []).extend(
                {"name": c.name[:100], "arguments": _preview(c.arguments)}
                for c in answer.tool_calls
            )
            messages = [*messages, *await self._tool_round(step, answer, rounds, path)]
            rounds += 1
            answer = await self._ask(step, step.model, messages, params, f"{here}#{rounds}", entry)
        if offered:
            entry["tool_rounds"] = rounds
        content = answer.content or ""
        if answer.tool_calls:
            self.outcome.tool_calls.extend(answer.tool_calls)
        if not self.outcome.conversed:  # the call is done: its message list is ours again
            messages.append({"role": "assistant", "content": content})
            self.outcome.transcript = messages
        scope[step.output] = parse_output(content, step.parse)

    async def _tool_round(
        self, step: Step, answer: CompletionResult, index: int, path: str
    ) -> list[dict[str, Any]]:
        """Run each tool the model called; the messages that feed the results back. A
        call's failure (unknown tool, bad arguments, timeout, exception) is fed back to
        the model as the tool's result, and recorded in its trace entry."""
        calls = [
            {
                "id": call.id or f"call_{index}_{n}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for n, call in enumerate(answer.tool_calls)
        ]
        said: list[dict[str, Any]] = [
            {"role": "assistant", "content": answer.content, "tool_calls": calls}
        ]
        self.outcome.tool_calls.extend(answer.tool_calls)
        for wire, call in zip(calls, answer.tool_calls, strict=True):
            entry: dict[str, Any] = {
                "step": f"{step.name}.tool",
                "kind": "tool",
                "path": f"{path}{step.name}[{index}].{call.name}"[:200],
                "tool": call.name[:100],
                "inputs": _preview(call.parsed if call.parse_error is None else call.arguments),
            }
            started = time.perf_counter()
            try:
                value: Any = await self._call_tool(step, call)
                text = value if isinstance(value, str) else _json(value)
                entry["output"] = _preview(value)
            except _Stop as stop:
                text = f"error: {stop.message}"
                entry["error"] = stop.message
            entry["latency_ms"] = entry["wall_ms"] = round(
                (time.perf_counter() - started) * 1000, 3
            )
            self._trace(entry)
            said.append({"role": "tool", "tool_call_id": wire["id"], "content": text})
        return said

    async def _call_tool(self, step: Step, call: ToolCall) -> Any:
        if call.name not in step.tools:
            raise _Stop(f"tool {call.name[:100]!r} is not offered to this step")
        if call.parse_error is not None or not isinstance(call.parsed, dict):
            raise _Stop(f"tool {call.name!r}: {call.parse_error or 'arguments are not an object'}")
        return await self._invoke(call.name, call.parsed, step.timeout_s)

    async def _conversation(
        self, step: Step, scope: dict[str, Any], path: str, entry: dict[str, Any]
    ) -> None:
        """The assistant's prompt, after the case's history, answered turn by turn; the
        user's turns come from the script or from the simulated user's prompt."""
        user, bound = step.user, step.max_turns
        assert user is not None and bound is not None
        pinned, rendered, params, values = self._render(step, step.name, step.inputs, scope)
        entry["inputs"] = {k: _preview(v) for k, v in values.items()}
        entry["prompt_version"] = pinned.version_id
        messages: list[dict[str, Any]] = rendered.with_history(self.case.messages)
        script = None if user.script is None else _script(_read(scope, user.script, step), step)
        reply: str | None = None
        turns = said = 0
        while turns < bound:
            if messages[-1]["role"] != "user":
                if script is not None:
                    if said == len(script):
                        break
                    text, said = script[said], said + 1
                    self._trace(
                        {
                            "step": f"{step.name}.user",
                            "kind": "user",
                            "path": f"{path}{step.name}[{turns}].user",
                            "output": _preview(text),
                            "wall_ms": 0.0,
                        }
                    )
                else:
                    text = await self._simulated_user(
                        step, scope, messages, f"{path}{step.name}[{turns}]"
                    )
                    if user.stop is not None and user.stop in text:
                        break
                messages.append({"role": "user", "content": text})
            turn: dict[str, Any] = {
                "step": f"{step.name}.assistant",
                "kind": "llm",
                "path": f"{path}{step.name}[{turns}].assistant",
                "inputs": {"user": _preview(messages[-1]["content"])},
                "prompt_version": pinned.version_id,
            }
            started = time.perf_counter()
            try:
                answer = await self._ask(
                    step, step.model, list(messages), params, turn["path"], turn
                )
            finally:
                turn["wall_ms"] = round((time.perf_counter() - started) * 1000, 3)
                self._trace(turn)
            reply = answer.content or ""
            turn["output"] = _preview(reply)
            messages.append({"role": "assistant", "content": reply})
            turns += 1
        entry["turns"] = turns
        self.outcome.transcript, self.outcome.conversed = messages, True
        if reply is None:
            raise _Stop(f"step {step.name!r}: the conversation had no turn (an empty script)")
        scope[step.output] = reply

    async def _simulated_user(
        self, step: Step, scope: Mapping[str, Any], messages: Sequence[Mapping[str, Any]], at: str
    ) -> str:
        user = step.user
        assert user is not None
        transcript = "\n".join(
            f"{m['role']}: {m['content']}" for m in messages if m["role"] != "system"
        )
        seen = {**scope, TRANSCRIPT: transcript}
        pinned, rendered, params, _ = self._render(step, f"{step.name}.user", user.inputs, seen)
        turn: dict[str, Any] = {
            "step": f"{step.name}.user",
            "kind": "llm",
            "path": f"{at}.user",
            "prompt_version": pinned.version_id,
            "inputs": {TRANSCRIPT: _preview(transcript)},
        }
        started = time.perf_counter()
        try:
            answer = await self._ask(
                step, user.model, rendered.as_dicts(), params, turn["path"], turn
            )
        finally:
            turn["wall_ms"] = round((time.perf_counter() - started) * 1000, 3)
            self._trace(turn)
        text = answer.content or ""
        turn["output"] = _preview(text)
        return text

    def _trace(self, entry: dict[str, Any]) -> None:
        if len(self.outcome.trace) < MAX_TRACE_STEPS:
            self.outcome.trace.append(entry)

    def _count(self, answer: CompletionResult, entry: dict[str, Any]) -> None:
        """Add one call's usage to the cell's and to ``entry``'s (a step with tool rounds
        makes several calls: its entry sums them)."""
        out = self.outcome
        out.calls += 1
        out.cached_calls += answer.cached
        out.latency_ms += answer.latency_ms
        out.queue_ms += answer.queue_ms
        out.prompt_tokens += answer.usage.prompt_tokens
        out.completion_tokens += answer.usage.completion_tokens
        out.attempts += answer.attempts
        out.cost_usd = (out.cost_usd or 0.0) + (answer.cost_usd or 0.0)
        out.model_used = answer.model_used or out.model_used
        out.fallback_model = out.fallback_model or answer.fallback_model
        if "calls" not in entry:  # the usual case, one call: set, no sums
            entry.update(
                calls=1,
                model=answer.model_used or answer.model,
                latency_ms=answer.latency_ms,
                queue_ms=answer.queue_ms,
                prompt_tokens=answer.usage.prompt_tokens,
                completion_tokens=answer.usage.completion_tokens,
                cost_usd=answer.cost_usd,
                cached=answer.cached,
                attempts=answer.attempts,
            )
        else:
            entry["calls"] += 1
            entry["model"] = answer.model_used or answer.model
            entry["latency_ms"] += answer.latency_ms
            entry["queue_ms"] += answer.queue_ms
            entry["prompt_tokens"] += answer.usage.prompt_tokens
            entry["completion_tokens"] += answer.usage.completion_tokens
            entry["attempts"] += answer.attempts
            entry["cached"] = entry["cached"] and answer.cached
            if answer.cost_usd is not None:
                entry["cost_usd"] = (entry["cost_usd"] or 0.0) + answer.cost_usd
        if answer.fallback_model:
            entry["fallback_model"] = answer.fallback_model

    async def _tool(self, step: Step, scope: dict[str, Any], entry: dict[str, Any]) -> None:
        args = {arg: _read(scope, var, step) for arg, var in step.inputs.items()}
        entry["inputs"] = {k: _preview(v) for k, v in args.items()}
        started = time.perf_counter()
        try:
            value = await self._invoke(step.tool or "", args, step.timeout_s)
        except _Stop as stop:
            raise _Stop(f"step {step.name!r}: {stop.message}") from None
        finally:
            entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        scope[step.output] = value

    async def _invoke(self, name: str, args: Mapping[str, Any], timeout_s: float) -> Any:
        """Call registered tool ``name`` with keyword ``args``, bounded by ``timeout_s``."""
        tool = self.plan.tools.get(name)
        if tool is None:
            raise _Stop(f"tool {name!r} is not registered here")
        try:
            if inspect.iscoroutinefunction(tool):
                return await asyncio.wait_for(tool(**args), timeout_s)
            # A thread cannot be stopped: on timeout its result is dropped, not awaited.
            return await asyncio.wait_for(asyncio.to_thread(tool, **args), timeout_s)
        except TimeoutError:
            raise _Stop(f"tool {name!r} timed out after {timeout_s:g} s") from None
        except Exception as exc:  # the user's tool failed: its error is the step's
            raise _Stop(f"tool {name!r} failed: {type(exc).__name__}: {exc}"[:500]) from None

    async def _loop(
        self, step: Step, scope: dict[str, Any], path: str, entry: dict[str, Any]
    ) -> None:
        assert step.max_iterations is not None
        iterations = 0
        for iteration in range(step.max_iterations):
            iterations += 1
            await self._block(step.body, scope, f"{path}{step.name}[{iteration}].")
            if step.when is not None and holds(step.when, scope, self._score):
                break
        entry["iterations"] = iterations
        scope[step.output] = scope.get(step.body[-1].output)

    async def _map(
        self, step: Step, scope: dict[str, Any], path: str, entry: dict[str, Any]
    ) -> None:
        assert step.over is not None and step.max_items is not None
        items = _read(scope, step.over, step)
        if not isinstance(items, list):
            raise _Stop(f"step {step.name!r}: {step.over!r} is not a list")
        if len(items) > step.max_items:
            raise _Stop(f"step {step.name!r}: {len(items)} items, over max_items={step.max_items}")
        entry["items"] = len(items)
        collect = step.collect or step.body[-1].output
        scopes = [{**scope, step.item: item} for item in items]
        await asyncio.gather(
            *(self._block(step.body, s, f"{path}{step.name}[{i}].") for i, s in enumerate(scopes))
        )
        scope[step.output] = [s.get(collect) for s in scopes]

    def _score(self, spec: Mapping[str, Any], value: Any) -> float:
        key = "when:" + _json(spec)
        built = self.plan.built.get(key)
        if built is None:
            built = self.plan.built[key] = build_scorers([dict(spec)])
        (scorer,) = built
        if not isinstance(scorer, PureScorer) or scorer.needs is not None:
            raise _Stop(
                f"scorer {spec.get('type')!r} cannot be used in a condition (pure scorers only)"
            )
        text = value if isinstance(value, str) else _json(value)
        context = ScoreContext(
            output=text,
            expected=self.case.expected,
            variables=self.case.variables,
            metadata=self.case.metadata,
        )
        return scorer.score(context).value


def _read(scope: Mapping[str, Any], name: str, step: Step) -> Any:
    if name.split(".", 1)[0] not in scope:
        raise _Stop(f"step {step.name!r}: variable {name!r} has no value")
    return lookup(scope, name)


def _script(value: Any, step: Step) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(turn, str) for turn in value):
        raise _Stop(f"step {step.name!r}: the user script is not a list of texts")
    return value


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _preview(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TRACE_TEXT else value[:MAX_TRACE_TEXT] + "…"
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = _json(value)
    return value if len(text) <= MAX_TRACE_TEXT else text[:MAX_TRACE_TEXT] + "…"
