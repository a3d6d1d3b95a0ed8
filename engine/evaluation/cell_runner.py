"""Working one cell: render → (cache → permit → call, inside the LLM client) → score.

Kept outside the actor so it is testable without Ray; the `Evaluator` actor is a shell
around it. A cell never raises: provider failures become an errored result row, and a
budget refusal is reported so the scheduler can stop the run without recording the cell.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from domain.datasets import TestCase
from domain.errors import CodeNotAllowedError, NexusError
from domain.evaluation import Cell
from domain.evaluation.rows import ResultRow
from domain.scoring import (
    EmbeddingScorer,
    JudgeScorer,
    ModerationScorer,
    PureScorer,
    SandboxScorer,
    Score,
    ScoreContext,
    Scorer,
    build_scorers,
    check_code_allowed,
    combine,
)
from engine import tracing
from engine.evaluation.context import RunContext
from engine.evaluation.flow_runner import CellCall, FlowExecution, FlowPlan
from engine.evaluation.sandbox import run_program
from engine.llm import CompletionRequest, LLMClient

# A run's routing names (`domain.evaluation.ROUTINGS`) → the LLM client's.
_CLIENT_ROUTINGS = {"cheapest": "cheapest-that-qualifies", "lowest-latency": "lowest-latency"}


class Slots:
    """At most ``n`` holders at once, served first come first served.

    Not `asyncio.Semaphore`: on Python 3.11 its `acquire` scans every waiter, which with
    hundreds of cells queued in an evaluator cost ~6% of its CPU. A release hands its slot
    straight to the oldest waiter.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"slots must be >= 1, got {n}")
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot arrived with the cancellation: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


@dataclass(frozen=True)
class Scoring:
    """How the cells of one case are scored, worked out once per case (not per cell)."""

    scorers: list[Scorer]
    kinds: list[str | None]
    """Each scorer's kind: isinstance against runtime-checkable protocols is slow."""
    logprobs: bool
    """A scorer reads the answer's logprobs (perplexity): the call asks for them."""
    refusal: str | None
    """The cells' error when the run does not allow the code scorers they have."""


@dataclass(frozen=True)
class CellOutcome:
    """A result row to record, or `budget_exceeded` when the cell was not attempted."""

    row: ResultRow | None
    budget_exceeded: bool = False


class CellRunner:
    """Works the cells of one run with one process's LLM client."""

    def __init__(self, context: RunContext, client: LLMClient, slots: int | None = None) -> None:
        self.context = context
        self.client = client
        self._slots = None if slots is None else Slots(slots)
        registered = build_scorers(context.spec.scorers)
        self.scoring = _scoring(
            [*registered, *context.custom_scorers],
            _code_refusal(context.spec.scorers, context.spec.allow_code),
        )
        self._case_scoring: dict[str, Scoring] = {}
        # Each sandboxed program is a fresh interpreter: more at once than cores only queues.
        self._sandboxes = Slots(max(2, os.cpu_count() or 2))
        # Call parameters per prompt version, built once rather than per cell.
        self.params = {
            version: {
                **{k: v for k, v in settings.as_params().items() if k != "model" and v is not None},
                **context.spec.params,
            }
            for version, settings in context.settings.items()
        }

    def scoring_of(self, case: TestCase) -> Scoring:
        """How a cell of ``case`` is scored: the run's scorers, then the case's own (built
        once per case)."""
        if not case.scorers:
            return self.scoring
        built = self._case_scoring.get(case.id)
        if built is None:
            run = self.scoring
            own = _code_refusal(case.scorers, self.context.spec.allow_code)
            built = _scoring([*run.scorers, *build_scorers(case.scorers)], run.refusal or own)
            self._case_scoring[case.id] = built
        return built

    def route(self, cell: Cell) -> dict[str, Any]:
        """The model fields of ``cell``'s request: its model, or the run's routing rule."""
        spec = self.context.spec
        if spec.routing == "fixed":
            return {"model": cell.model}
        return {
            "model": spec.models[0],
            "routing": _CLIENT_ROUTINGS[spec.routing],
            "candidates": spec.models,
        }

    async def run(self, cell: Cell) -> CellOutcome:
        """Work ``cell``, after a free slot when the runner has a slot limit."""
        if self._slots is None:
            return await self._run(cell)
        async with self._slots:
            return await self._run(cell)

    async def _run(self, cell: Cell) -> CellOutcome:
        if not tracing.enabled():
            return await self._work(cell)
        attributes = {
            "autoforge.run_id": self.context.run_id,
            "autoforge.case_id": cell.case_id,
            "autoforge.prompt_version": cell.prompt_version,
            "autoforge.model": cell.model,
            "autoforge.repeat": cell.repeat,
        }
        with tracing.span("cell", attributes, parent=self.context.traceparent) as span:
            outcome = await self._work(cell)
            row = outcome.row
            if row is None:
                tracing.mark(span, **{"autoforge.budget_exceeded": True})
            else:
                marks = {"cached": row.cached, "passed": row.passed, "errored": row.errored}
                tracing.mark(span, **{f"autoforge.{k}": v for k, v in marks.items()})
            return outcome

    async def _work(self, cell: Cell) -> CellOutcome:
        ctx = self.context
        case = ctx.cases[cell.case_id]
        key: dict[str, Any] = {
            "run_id": ctx.run_id,
            "prompt_version": cell.prompt_version,
            "model": cell.model,
            "case_id": cell.case_id,
            "repeat": cell.repeat,
        }
        scoring = self.scoring_of(case)
        if scoring.refusal is not None:  # before the model call: nothing is spent on it
            return CellOutcome(ResultRow(**key, error=scoring.refusal))
        plan = ctx.flows.get(cell.prompt_version)
        if plan is not None:
            return await self._run_flow(plan, cell, case, key, scoring)
        try:
            rendered = ctx.templates[cell.prompt_version].render(case.variables)
        except NexusError as exc:
            return CellOutcome(ResultRow(**key, error=f"render: {exc.message}"))
        params = dict(self.params[cell.prompt_version])
        params.setdefault("seed", ctx.spec.seed + cell.repeat)
        if scoring.logprobs:
            params.setdefault("logprobs", True)  # the perplexity scorer reads them
        messages = rendered.with_history(case.messages) if case.messages else rendered.as_dicts()
        answer = await self.client.complete(
            CompletionRequest(
                **self.route(cell),
                messages=messages,
                params=params,
                repeat_index=cell.repeat,
                cache=ctx.spec.cache,
                run_id=ctx.run_id,
                user_id=ctx.owner,
                call_id=_call_id(ctx.run_id, cell),
            )
        )
        if answer.error is not None and answer.error.kind == "budget":
            return CellOutcome(None, budget_exceeded=True)
        # One row built once: three `dataclasses.replace` per cell were ~3% of its CPU.
        answered: dict[str, Any] = {
            **key,
            "output": answer.content,
            "latency_ms": answer.latency_ms,
            "queue_ms": answer.queue_ms,
            "prompt_tokens": answer.usage.prompt_tokens,
            "completion_tokens": answer.usage.completion_tokens,
            "cost_usd": answer.cost_usd,
            "fallback_model": answer.fallback_model,
            "cached": answer.cached,
            "error": None
            if answer.error is None
            else f"{answer.error.kind}: {answer.error.message}",
            "attempts": answer.attempts,
            "model_used": answer.model_used,
            "finish_reason": answer.finish_reason,
            "tool_calls": answer.tool_calls,
        }
        if answer.error is not None or (answer.content is None and not answer.tool_calls):
            return CellOutcome(ResultRow(**answered))
        output = answer.content or ""
        answered["output"] = output
        return await self._scored(
            answered,
            case,
            cell,
            scoring,
            ScoreContext(
                output=output,
                expected=case.expected,
                variables=case.variables,
                metadata=case.metadata,
                latency_ms=answer.latency_ms,
                cost_usd=answer.cost_usd,
                tokens=answer.usage.prompt_tokens + answer.usage.completion_tokens,
                model=answer.model_used or cell.model,
                finish_reason=answer.finish_reason,
                logprobs=answer.logprobs,
                tool_calls=answer.tool_calls,
                tools=_offered_tools(params),
                messages=(*messages, {"role": "assistant", "content": output}),
            ),
        )

    async def _run_flow(
        self, plan: FlowPlan, cell: Cell, case: TestCase, key: dict[str, Any], scoring: Scoring
    ) -> CellOutcome:
        """Work a flow cell: its steps' calls share the cell's client, route and cache;
        the row sums their usage and carries the trace."""
        ctx = self.context
        params = {
            **ctx.spec.params,
            "seed": ctx.spec.params.get("seed", ctx.spec.seed + cell.repeat),
        }
        call = CellCall(
            route=self.route(cell),
            params=params,
            repeat=cell.repeat,
            cache=ctx.spec.cache,
            run_id=ctx.run_id,
            owner=ctx.owner,
            call_id=_call_id(ctx.run_id, cell),
        )
        done = await FlowExecution(plan, case, call, self.client.complete).run()
        if done.budget_exceeded:
            return CellOutcome(None, budget_exceeded=True)
        answered: dict[str, Any] = {
            **key,
            "output": done.output,
            "latency_ms": done.latency_ms,
            "queue_ms": done.queue_ms,
            "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens,
            "cost_usd": done.cost_usd,
            "fallback_model": done.fallback_model,
            "cached": done.cached,
            "error": None if done.error is None else f"flow: {done.error}",
            "attempts": done.attempts,
            "model_used": done.model_used,
            "trace": tuple(done.trace),
            "tool_calls": tuple(done.tool_calls),
        }
        if done.error is not None or done.output is None:
            return CellOutcome(ResultRow(**answered))
        score_ctx = ScoreContext(
            output=done.output,
            expected=case.expected,
            variables=case.variables,
            metadata=case.metadata,
            latency_ms=done.latency_ms,
            cost_usd=done.cost_usd,
            tokens=done.prompt_tokens + done.completion_tokens,
            model=done.model_used or cell.model,
            tool_calls=tuple(done.tool_calls),
            tools=tuple(done.tools),
            messages=tuple(done.transcript),
        )
        scored = await self._scored(answered, case, cell, scoring, score_ctx)
        if scored.row is None or not done.step_scores:
            return scored
        steps = {name: sum(v) / len(v) for name, v in done.step_scores.items()}
        return CellOutcome(replace(scored.row, scores={**scored.row.scores, **steps}))

    async def _scored(
        self,
        answered: dict[str, Any],
        case: TestCase,
        cell: Cell,
        scoring: Scoring,
        score_ctx: ScoreContext,
    ) -> CellOutcome:
        """The row of an answered cell, with its scores."""
        scores, extra_cost, over_budget = await self._score(score_ctx, cell, scoring)
        if over_budget:
            return CellOutcome(None, budget_exceeded=True)
        if scores:
            cell_score = combine(
                [(s, scorer.weight) for s, scorer in zip(scores, scoring.scorers, strict=True)]
            )
            passed = (
                cell_score.passed if case.threshold is None else cell_score.value >= case.threshold
            )
            answered.update(
                passed=passed,
                score=cell_score.value,
                scores={s.name: s.value for s in scores},
                reasons={s.name: s.reason for s in scores if not s.passed and s.reason},
            )
        return CellOutcome(ResultRow(**answered, scoring_cost_usd=extra_cost))

    async def _score(
        self, ctx: ScoreContext, cell: Cell, scoring: Scoring
    ) -> tuple[list[Score], float, bool]:
        scores: list[Score] = []
        extra_cost = 0.0
        for index, (scorer, kind) in enumerate(zip(scoring.scorers, scoring.kinds, strict=True)):
            if kind == "pure":
                scores.append(cast(PureScorer, scorer).score(ctx))
            elif kind == "sandbox":
                scores.append(await self._run_program(cast(SandboxScorer, scorer), ctx))
            elif kind == "judge":
                judge = cast(JudgeScorer, scorer)
                judged = await self.client.complete(
                    CompletionRequest(
                        model=judge.judge_model,
                        messages=judge.build_messages(ctx),
                        params={"temperature": 0},
                        repeat_index=cell.repeat,
                        cache=self.context.spec.cache,
                        run_id=self.context.run_id,
                        user_id=self.context.owner,
                        call_id=f"{_call_id(self.context.run_id, cell)}:judge:{index}",
                    )
                )
                if judged.error is not None and judged.error.kind == "budget":
                    return scores, extra_cost, True
                extra_cost += judged.cost_usd or 0.0
                scores.append(
                    judge.parse(judged.content or "")
                    if judged.error is None
                    else Score(0.0, False, f"judge call failed: {judged.error.message}", judge.name)
                )
            elif kind == "embedding":
                embedder = cast(EmbeddingScorer, scorer)
                early = embedder.precheck(ctx)
                if early is not None:
                    scores.append(early)
                    continue
                embedded = await self.client.embed(
                    embedder.model,
                    list(embedder.texts(ctx)),
                    call_id=f"{_call_id(self.context.run_id, cell)}:embed:{index}",
                    run_id=self.context.run_id,
                    user_id=self.context.owner,
                    cache=self.context.spec.cache,
                )
                if embedded.error is not None:
                    scores.append(
                        Score(
                            0.0, False, f"embedding failed: {embedded.error.message}", embedder.name
                        )
                    )
                else:
                    extra_cost += embedded.cost_usd or 0.0
                    scores.append(embedder.from_vectors(*embedded.vectors[:2]))
            elif kind == "moderation":
                moderated, cost = await self._moderate(
                    cast(ModerationScorer, scorer), ctx, cell, index
                )
                scores.append(moderated)
                extra_cost += cost
        return scores, extra_cost, False

    async def _moderate(
        self, scorer: ModerationScorer, ctx: ScoreContext, cell: Cell, index: int
    ) -> tuple[Score, float]:
        """The scorer's verdict and the call's cost; a failed call fails it, like embeddings."""
        verdict = await self.client.moderate(
            scorer.model,
            scorer.text(ctx),
            call_id=f"{_call_id(self.context.run_id, cell)}:moderate:{index}",
            run_id=self.context.run_id,
            user_id=self.context.owner,
            cache=self.context.spec.cache,
        )
        if verdict.error is not None:
            failed = f"moderation failed: {verdict.error.message}"
            return Score(0.0, False, failed, scorer.name), 0.0
        return scorer.from_result(verdict.categories, verdict.category_scores), verdict.cost_usd

    async def _run_program(self, scorer: SandboxScorer, ctx: ScoreContext) -> Score:
        async with self._sandboxes:  # the program's timeout starts once it has a slot
            ran = await run_program(
                scorer.language,
                scorer.request(ctx),
                timeout_s=scorer.timeout_s,
                memory_bytes=scorer.memory_bytes,
            )
        if ran.answer is None:
            return scorer.failed(ran.failure or "gave no answer")
        return scorer.parse(ran.answer)


def _scoring(scorers: list[Scorer], refusal: str | None) -> Scoring:
    return Scoring(
        scorers=scorers,
        kinds=[_kind(s) for s in scorers],
        logprobs=any(getattr(s, "wants_logprobs", False) for s in scorers),
        refusal=refusal,
    )


def _code_refusal(specs: Sequence[Mapping[str, Any]], allowed: bool) -> str | None:
    """The error of a cell whose (run's or case's) code scorers its run does not allow."""
    try:
        check_code_allowed(specs, allowed=allowed, where="this run")
    except CodeNotAllowedError as exc:
        return f"{exc.code}: {exc.message}"
    return None


def _kind(scorer: Scorer) -> str | None:
    if isinstance(scorer, SandboxScorer) and scorer.needs == "sandbox":
        return "sandbox"
    if isinstance(scorer, PureScorer) and scorer.needs is None:
        return "pure"
    if isinstance(scorer, JudgeScorer):
        return "judge"
    if isinstance(scorer, EmbeddingScorer):
        return "embedding"
    if isinstance(scorer, ModerationScorer):
        return "moderation"
    return None


def _offered_tools(params: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    tools = params.get("tools")
    return (
        tuple(t for t in tools if isinstance(t, Mapping)) if isinstance(tools, list | tuple) else ()
    )


def _call_id(run_id: str, cell: Cell) -> str:
    return f"{run_id}:{cell.prompt_version[:16]}:{cell.model}:{cell.case_id}:{cell.repeat}"
