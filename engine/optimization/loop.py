"""The optimization loop: generations of candidates, each evaluated as engine runs.

The loop is deterministic for a seed: every random choice comes from an rng seeded by
(seed, generation, slot), and a generation's results are applied in candidate order. Every
side effect is keyed and recorded before the loop moves on, so a resumed loop walks the
same path and finds each step already done: an evaluation run by its idempotency key
(its recorded cells are never called again), a reflection reply in its event, a commit by
the step trailer of its message.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from domain.errors import ConflictError, NexusError, ServiceUnavailableError, ValidationError
from domain.optimization import rules
from domain.optimization.aggregate import (
    Candidate,
    Optimization,
    evidence_to_dict,
)
from domain.optimization.config import OptimizationConfig
from domain.optimization.events import Event
from domain.optimization.pareto import select_parent
from domain.optimization.strategy import CaseEvidence, Content, Proposal, Strategy
from domain.scoring import build_scorers
from engine.evaluation import streams
from engine.logs import get_logger
from engine.optimization import alive_key, best_label, stream_key
from engine.store_util import utc_now_iso

if TYPE_CHECKING:
    from domain.reports import ResultRecord
    from engine.llm.gateways import LinkFactory
    from engine.optimization.store import OptimizationStore


class Host(Protocol):
    """What the loop needs of the engine that works it (the SDK's `Engine` of the owner)."""

    @property
    def evaluations(self) -> Any: ...

    @property
    def prompts(self) -> Any: ...

    @property
    def catalogue(self) -> Any: ...

    @property
    def runtime(self) -> Any: ...


log = get_logger(__name__)

ALIVE_TTL_S = 15
STREAM_MAXLEN = 10_000
STEP_TRAILER = "Optimization-Step:"
MERGE_EVERY = 3
"""With the ``merge`` option, a merge is tried after every third generation."""


def thread_name(optimization_id: str) -> str:
    """The name of the thread that works ``optimization_id`` in this process."""
    return f"autoforge-{optimization_id}"


def works_here(optimization_id: str) -> bool:
    """Whether a live thread of this process works ``optimization_id``."""
    name = thread_name(optimization_id)
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


class Stopped(Exception):
    """The loop stops without finishing: cancelled, interrupted or out of budget."""

    def __init__(self, status: str, reason: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.reason = reason


def content_of(template: Any) -> Content:
    """A prompt version's template as a candidate's content (system + user text).

    Raises:
        ValidationError: ``reason="unsupported-template"`` for a chat of another shape.
    """
    if template.kind == "text":
        return Content("", template.text or "")
    messages = list(template.messages or ())
    if len(messages) == 1 and messages[0].role == "user":
        return Content("", messages[0].content)
    if len(messages) == 2 and messages[0].role == "system" and messages[1].role == "user":
        return Content(messages[0].content, messages[1].content)
    raise ValidationError(
        "an optimization needs a text template or a system + user chat template",
        reason="unsupported-template",
    )


def judges_per_cell(scorers: Sequence[Mapping[str, Any]]) -> int:
    """How many model calls scoring one cell makes (judge and embedding scorers)."""
    count = 0
    for scorer in build_scorers(list(scorers)):
        if any(isinstance(getattr(scorer, a, None), str) for a in ("judge_model", "model")):
            count += 1
    return count


@dataclass(frozen=True)
class Evaluated:
    """One evaluation run's outcome, per case."""

    scores: dict[str, float]
    passed: dict[str, bool]
    evidence: list[CaseEvidence]
    data: dict[str, Any]


def summarize_records(records: Sequence[ResultRecord], judges: int, phase: str) -> Evaluated:
    """Per-case mean scores (errored cells score 0), pass/fail, evidence and the counts."""
    by_case: dict[str, list[ResultRecord]] = {}
    for record in records:
        by_case.setdefault(record.case_id, []).append(record)
    scores: dict[str, float] = {}
    passed: dict[str, bool] = {}
    evidence: list[CaseEvidence] = []
    for case_id, cells in by_case.items():
        values = [float(c.score or 0.0) for c in cells]
        scores[case_id] = sum(values) / len(values)
        verdicts = [
            c.passed if c.passed is not None else float(c.score or 0.0) >= 0.5 for c in cells
        ]
        passed[case_id] = all(verdicts) and not any(c.error for c in cells)
        first = cells[0]
        evidence.append(
            CaseEvidence(
                case_id=case_id,
                variables=dict(first.variables),
                expected=first.expected,
                output=first.output,
                score=scores[case_id],
                passed=first.passed,
                reasons=dict(first.reasons),
                error=first.error,
            )
        )
    data = {
        "phase": phase,
        "scores": scores,
        "passed": passed,
        "cells": len(records),
        "judge_calls": judges * len(records),
        "cost_usd": sum(float(r.cost_usd or 0.0) for r in records),
        "judge_cost_usd": sum(float(r.scoring_cost_usd or 0.0) for r in records),
    }
    if phase != "val":
        data["evidence"] = [evidence_to_dict(e) for e in evidence]
    return Evaluated(scores, passed, evidence, data)


class OptimizationLoop:
    """Works one optimization to its end (or until stopped), recording every step.

    Args:
        engine: The owner's engine view (runs, prompts, catalogue).
        links: How reflection calls reach the accounts' gateways.
        call_on: Runs a coroutine where those gateways live (the inline executor's loop,
            so reflection calls share the runs' limits); None: a loop of the loop's thread.
        store: Where the event log lives.
        state: The optimization, rebuilt from its log.
        strategy: The optimizer.
        redis: A sync Redis client (live events and the liveness key).
        api_keys: Provider keys for runs and reflection calls.
        concurrency: Calls in flight within each run (None: the config's).
        budget_usd: The cap in force (None: the config's).
    """

    def __init__(
        self,
        *,
        engine: Host,
        links: LinkFactory,
        store: OptimizationStore,
        state: Optimization,
        strategy: Strategy,
        redis: Any,
        api_keys: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        budget_usd: float | None = None,
        on_exit: Callable[[str], None] | None = None,
        call_on: Callable[[Coroutine[Any, Any, Any]], Any] | None = None,
    ) -> None:
        assert state.config is not None
        self.engine = engine
        self.links = links
        self.store = store
        self.state = state
        self.config: OptimizationConfig = state.config
        self.strategy = strategy
        self.redis = redis
        self.api_keys = dict(api_keys or {})
        self.concurrency = concurrency or self.config.concurrency
        self.budget_usd = budget_usd if budget_usd is not None else self.config.budget_usd
        self.cancelled = threading.Event()
        self.closing = threading.Event()
        self.judges = judges_per_cell(self.config.scorers)
        self._on_exit = on_exit
        self._call_on = call_on
        self._client: Any = None
        self._aio: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Work the optimization on a thread of its own (`thread_name`)."""
        self.thread = threading.Thread(
            target=self.run, name=thread_name(self.state.id), daemon=True
        )
        self.thread.start()
        self._heartbeat()

    def run(self) -> None:
        status = "failed"
        try:
            self._publish("progress")
            self._work()
            status = self.state.status
        except Stopped as stop:
            status = stop.status
            if stop.status == "cancelled":
                self._record("cancelled", reason=stop.reason)
            elif stop.status == "interrupted":
                self.store.set_status(self.state.id, "interrupted")
            self._publish(stop.status)
        except Exception as exc:
            log.exception("optimization failed", optimization=self.state.id)
            message = exc.message if isinstance(exc, NexusError) else f"{type(exc).__name__}"
            try:
                self._record("failed", error=message)
            except Exception:
                self.store.set_status(self.state.id, "failed", message)
            self._publish("failed", error=message)
        finally:
            self._close_client()
            try:
                self.redis.delete(alive_key(self.state.id))
            except Exception:
                pass
            if self._on_exit is not None:
                self._on_exit(status)

    def cancel(self) -> None:
        self.cancelled.set()

    def interrupt(self) -> None:
        """The engine closes: stop after the run in flight, leave the optimization
        `interrupted` for a resume."""
        self.closing.set()

    # -- the loop ------------------------------------------------------------------------

    def _work(self) -> None:
        state = self.state
        config = self.config
        baseline = state.candidates["c0"]
        self._evaluate_all([(baseline, "val", state.split.val, "eval:c0:val")])
        generation = 0
        while True:
            generation += 1
            done = state.recorded(f"generation:{generation}")
            if done is not None:
                continue
            plans = self._plan(generation)
            if state.recorded(f"plan:{generation}") is not None:
                self._generation(generation, plans)  # begun before a resume: work it out
                continue
            stop = rules.stop_reason(
                usage=state.usage,
                max_calls=config.max_metric_calls,
                budget_usd=self.budget_usd,
                stale_generations=state.stale_generations,
                idle_generations=state.idle_generations,
                patience=config.patience,
                affordable=len(plans),
            )
            if stop is not None:
                self._finish(stop)
                return
            self._record(
                "generation-planned",
                key=f"plan:{generation}",
                generation=generation,
                slots=[
                    {"slot": slot, "parent": parent.id, "minibatch": list(batch)}
                    for slot, parent, batch in plans
                ],
            )
            self._generation(generation, plans)

    def _plan(self, generation: int) -> list[tuple[int, Candidate, tuple[str, ...]]]:
        """The generation's slots: as recorded (a resumed generation), else up to
        ``parallel`` (parent, minibatch) draws, each from its own seeded rng, cut to those
        the calls left afford (`rules.affordable_slots`)."""
        state, config = self.state, self.config
        recorded = state.recorded(f"plan:{generation}")
        if recorded is not None:
            return [
                (int(s["slot"]), state.candidates[s["parent"]], tuple(s["minibatch"]))
                for s in recorded.data["slots"]
            ]
        front = state.front()
        scores = {c.id: c.val_scores for c in state.validated()}
        size = min(config.minibatch, len(state.split.train))
        per_cell = len(config.models) * (1 + self.judges)
        plans: list[tuple[int, Candidate, tuple[str, ...]]] = []
        costs: list[int] = []
        asked: dict[str, set[str]] = {}
        for slot in range(config.parallel):
            rng = random.Random(f"select:{config.seed}:{generation}:{slot}")
            parent = state.candidates[select_parent(front, scores, state.split.val, rng)]
            batch = tuple(sorted(rng.sample(list(state.split.train), size)))
            known = asked.setdefault(parent.id, set(parent.scores.get("train", {})))
            missing = set(batch) - known
            known |= missing
            reflection = 1 if config.reflection_model is not None else 0
            costs.append(reflection + per_cell * len(missing))
            plans.append((slot, parent, batch))
        opened = rules.affordable_slots(
            costs,
            used=state.usage.calls,
            max_calls=config.max_metric_calls,
            reserve=self._candidate_calls(size),
        )
        return plans[:opened]

    def _generation(
        self, generation: int, plans: Sequence[tuple[int, Candidate, tuple[str, ...]]]
    ) -> None:
        state = self.state
        best_before = state.best()
        calls_before = state.usage.calls
        # The parents' evidence on their minibatches: each candidate × case once.
        wanted: dict[str, set[str]] = {}
        for _, parent, batch in plans:
            missing = [c for c in batch if c not in parent.scores.get("train", {})]
            wanted.setdefault(parent.id, set()).update(missing)
        self._evaluate_all(
            [
                (
                    state.candidates[pid],
                    "train",
                    tuple(sorted(cases)),
                    f"eval:{pid}:train:g{generation}",
                )
                for pid, cases in wanted.items()
                if cases
            ]
        )
        proposals = self._propose_all(generation, plans)
        self._evaluate_all(
            [
                (candidate, "train", batch, f"eval:{candidate.id}:train")
                for candidate, batch in proposals
            ]
        )
        accepted: list[Candidate] = []
        for candidate, batch in proposals:
            parent = state.candidates[candidate.parent_ids[0]]
            mine = candidate.scores.get("train", {})
            theirs = parent.scores.get("train", {})
            if state.recorded(f"verdict:{candidate.id}") is None:
                verdict = rules.accepts(mine, theirs, batch)
                self._record(
                    "candidate-accepted" if verdict else "candidate-rejected",
                    key=f"verdict:{candidate.id}",
                    candidate=candidate.id,
                    minibatch_score=rules.minibatch_sum(mine, batch),
                    parent_minibatch_score=rules.minibatch_sum(theirs, batch),
                )
                self._publish("candidate", candidate=candidate.id, accepted=verdict)
            if candidate.accepted:
                accepted.append(candidate)
        self._evaluate_all([(c, "val", state.split.val, f"eval:{c.id}:val") for c in accepted])
        if self.config.options.get("merge") and generation % MERGE_EVERY == 0:
            self._merge(generation)
        best_after = state.best()
        improved = best_after is not None and (
            best_before is None or state.val_score(best_after) > state.val_score(best_before)
        )
        self._record(
            "generation-finished",
            key=f"generation:{generation}",
            generation=generation,
            stale_generations=0 if improved else state.stale_generations + 1,
            idle_generations=0 if state.usage.calls > calls_before else state.idle_generations + 1,
            best=best_after.id if best_after else None,
        )
        self._publish("progress")

    # -- proposals -----------------------------------------------------------------------

    def _propose_all(
        self, generation: int, plans: Sequence[tuple[int, Candidate, tuple[str, ...]]]
    ) -> list[tuple[Candidate, tuple[str, ...]]]:
        state = self.state
        asks: list[tuple[int, Candidate, tuple[str, ...], Any, random.Random]] = []
        for slot, parent, batch in plans:
            rng = random.Random(f"propose:{self.config.seed}:{generation}:{slot}")
            evidence = [parent.evidence[c] for c in batch if c in parent.evidence]
            step = f"g{generation}s{slot}"
            recorded = state.recorded(f"proposal:{step}")
            messages = None if recorded else self.strategy.ask(parent.view(), evidence, rng)
            asks.append((slot, parent, batch, (recorded, messages, evidence, step), rng))
        pending = [(i, a[3][1]) for i, a in enumerate(asks) if a[3][0] is None and a[3][1]]
        replies: dict[int, tuple[str | None, float]] = {}
        if pending:
            self._check_running()
            if self.budget_usd is not None and state.usage.cost_usd >= self.budget_usd:
                self._finish("budget-exceeded")
                raise Stopped("budget-exceeded")
            results = self._reflect([m for _, m in pending])
            replies = {i: r for (i, _), r in zip(pending, results, strict=True)}
        out: list[tuple[Candidate, tuple[str, ...]]] = []
        unrecorded = sum(1 for a in asks if a[3][0] is None and a[3][1])
        for i, (_, parent, batch, (recorded, messages, evidence, step), rng) in enumerate(asks):
            if recorded is None:
                reply, cost = replies.get(i, (None, 0.0))
                calls = 1 if messages else 0
                proposal = self.strategy.propose(parent.view(), evidence, reply, rng)
                fits = rules.fits_candidate(
                    used=state.usage.calls,
                    unrecorded=unrecorded,
                    reserved=self._reserved(generation),
                    one=self._candidate_calls(len(batch)),
                    max_calls=self.config.max_metric_calls,
                )
                self._commit(
                    step, generation, parent, batch, proposal, reply, calls, cost, fits=fits
                )
                unrecorded -= calls  # now in state.usage
            event = state.recorded(f"proposal:{step}")
            assert event is not None
            if event.type == "candidate-proposed":
                out.append((state.candidates[event.data["candidate"]], batch))
        return out

    def _commit(
        self,
        step: str,
        generation: int,
        parent: Candidate,
        batch: tuple[str, ...],
        proposal: Proposal | None,
        reply: str | None,
        calls: int,
        cost: float,
        *,
        others: Sequence[Candidate] = (),
        fits: bool = True,
    ) -> None:
        """Commit ``proposal`` on the branch and record it (or record the step skipped);
        ``others``: a merge's second parent; not ``fits``: a new proposal the calls left
        cannot evaluate (skipped, its reflection call counted)."""
        state = self.state
        parents = [parent, *others]
        accounting = {
            "key": f"proposal:{step}",
            "generation": generation,
            "parent_ids": [p.id for p in parents],
            "minibatch": list(batch),
            "reflection_calls": calls,
            "reflection_cost_usd": cost,
            "reply": reply,
        }
        known = {c.content for c in state.candidates.values()}
        if proposal is None or proposal.content in known or not proposal.content.template:
            why = "no proposal" if proposal is None else "a known candidate"
            self._record("candidate-skipped", reason=why, **accounting)
            return
        if not fits:
            self._record("candidate-skipped", reason="over the call limit", **accounting)
            return
        cid = state.next_candidate_id()
        lines = [
            f"{proposal.rationale.strip() or 'optimization candidate'}",
            "",
            f"Candidate: {cid}",
        ]
        for p in parents:
            scores = p.scores.get("train", {})
            lines += [
                f"Parent: {p.id} ({p.version[:12]})",
                f"Parent minibatch score: {rules.minibatch_sum(scores, batch):.3f}"
                f" on {len(batch)} cases",
                f"Parent validation score: {state.val_score(p):.3f}",
            ]
        lines.append(f"{STEP_TRAILER} {state.id} {step}")
        version = self._commit_version(step, proposal.content, "\n".join(lines))
        self._record(
            "candidate-proposed",
            candidate=cid,
            version=version,
            kind="merge" if others else "mutation",
            rationale=proposal.rationale,
            system=proposal.content.system,
            template=proposal.content.template,
            **accounting,
        )

    def _candidate_calls(self, minibatch: int) -> int:
        return rules.candidate_calls(
            minibatch=minibatch,
            val_cases=len(self.state.split.val),
            models=len(self.config.models),
            judges_per_cell=self.judges,
        )

    def _reserved(self, generation: int) -> int:
        """The calls kept for this generation's new candidates proposed so far (their
        evaluations come after every proposal of the generation)."""
        return sum(
            self._candidate_calls(len(c.minibatch))
            for c in self.state.candidates.values()
            if c.generation == generation and c.kind == "mutation"
        )

    # -- merges ----------------------------------------------------------------------------

    def _merge(self, generation: int) -> None:
        """GEPA's merge (option ``merge``): every `MERGE_EVERY` generations, two front
        members that do not descend from one another are combined by the strategy; the
        child is kept when its minibatch sum beats the better parent's."""
        state, config = self.state, self.config
        step = f"g{generation}m"
        size = min(config.minibatch, len(state.split.train))
        per_cell = len(config.models) * (1 + self.judges)
        if (
            state.usage.calls + per_cell * (3 * size + len(state.split.val))
            > config.max_metric_calls
        ):
            return
        rng = random.Random(f"merge:{config.seed}:{generation}")
        recorded = state.recorded(f"proposal:{step}")
        if recorded is None:
            front = [state.candidates[c] for c in state.front()]
            pairs = [
                (a, b)
                for i, a in enumerate(front)
                for b in front[i + 1 :]
                if a.id not in self._ancestors(b) and b.id not in self._ancestors(a)
            ]
            if not pairs:
                return
            a, b = rng.choice(pairs)
            common = self._ancestors(a) & self._ancestors(b)
            ancestor = max(common, key=lambda c: int(c[1:])) if common else None
            batch = tuple(sorted(rng.sample(list(state.split.train), size)))
            proposal = self.strategy.merge(
                a.view(),
                b.view(),
                state.candidates[ancestor].view() if ancestor else None,
                rng,
            )
            self._commit(step, generation, a, batch, proposal, None, 0, 0.0, others=[b])
            recorded = state.recorded(f"proposal:{step}")
        assert recorded is not None
        if recorded.type != "candidate-proposed":
            return
        child = state.candidates[recorded.data["candidate"]]
        a, b = (state.candidates[p] for p in child.parent_ids)
        batch = child.minibatch
        self._evaluate_all(
            [
                (
                    p,
                    "train",
                    tuple(c for c in batch if c not in p.scores.get("train", {})),
                    f"eval:{p.id}:train:{step}",
                )
                for p in (a, b)
            ]
            + [(child, "train", batch, f"eval:{child.id}:train")]
        )
        if state.recorded(f"verdict:{child.id}") is None:
            mine = rules.minibatch_sum(child.scores.get("train", {}), batch)
            best_parent = max(rules.minibatch_sum(p.scores.get("train", {}), batch) for p in (a, b))
            self._record(
                "candidate-accepted" if mine > best_parent else "candidate-rejected",
                key=f"verdict:{child.id}",
                candidate=child.id,
                minibatch_score=mine,
                parent_minibatch_score=best_parent,
            )
        if child.accepted:
            self._evaluate_all([(child, "val", state.split.val, f"eval:{child.id}:val")])

    def _ancestors(self, candidate: Candidate) -> set[str]:
        seen: set[str] = set()
        todo = list(candidate.parent_ids)
        while todo:
            cid = todo.pop()
            if cid not in seen:
                seen.add(cid)
                todo.extend(self.state.candidates[cid].parent_ids)
        return seen

    def _commit_version(self, step: str, content: Content, message: str) -> str:
        prompts = self.engine.prompts
        branch = self.state.branch
        head = prompts.head(self.config.prompt_id, branch)
        if head.message.endswith(f"{STEP_TRAILER} {self.state.id} {step}"):
            return str(head.id)  # committed before a crash, not yet recorded
        version = prompts.commit(
            self.config.prompt_id,
            content.template,
            system=content.system or None,
            message=message,
            branch=branch,
        )
        return str(version.id)

    def _reflect(self, batch: Sequence[Any]) -> list[tuple[str | None, float]]:
        """Ask the reflection model each of ``batch`` concurrently (temperature 0, cached)."""
        from engine.llm import CompletionRequest

        client = self._reflection_client()
        model = self.config.reflection_model
        assert model is not None

        async def ask_all() -> list[Any]:
            requests = [
                CompletionRequest(model, list(messages), params={"temperature": 0}, cache=True)
                for messages in batch
            ]
            return list(await asyncio.gather(*(client.complete(r) for r in requests)))

        results = self._run_async(ask_all())
        return [(r.content if r.error is None else None, float(r.cost_usd)) for r in results]

    def _reflection_client(self) -> Any:
        if self._client is None:
            from engine.llm import LLMClient

            runtime = self.engine.runtime
            catalogue = self.engine.catalogue
            env = _env(catalogue, self.api_keys)
            if self._call_on is None:
                self._aio = asyncio.new_event_loop()
            self._client = LLMClient(
                catalogue, redis_url=runtime.redis_url, links=self.links, env=env
            )
        return self._client

    def _run_async(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        if self._call_on is not None:
            return self._call_on(coroutine)
        assert self._aio is not None
        return self._aio.run_until_complete(coroutine)

    def _close_client(self) -> None:
        if self._client is not None:
            try:
                self._run_async(self._client.aclose())
            except Exception:
                log.warning("reflection client did not close cleanly")
        if self._aio is not None:
            self._aio.close()
        self._client = self._aio = None

    # -- evaluations ---------------------------------------------------------------------

    def _evaluate_all(self, work: Sequence[tuple[Candidate, str, Sequence[str], str]]) -> None:
        """Evaluate each (candidate, phase, cases, key), all in flight at once, and record
        the results in the order given.

        Items of one phase on the same cases (a generation's accepted candidates on the
        validation split, baseline and best on the test split) share one run of several
        versions, keyed by the group's first item: a run's fixed cost (validation, start,
        scheduling, completion: tens of ms here) is paid once, and the cells are the same.
        """
        groups: dict[tuple[str, tuple[str, ...]], list[tuple[Candidate, str]]] = {}
        for candidate, phase, cases, key in work:
            if cases:
                groups.setdefault((phase, tuple(cases)), []).append((candidate, key))
        todo = [
            (phase, cases, items)
            for (phase, cases), items in groups.items()
            if any(self.state.recorded(key) is None for _, key in items)
        ]
        if not todo:
            return
        self._check_running()
        total = sum(len(cases) * len(items) for _, cases, items in todo)
        runs = [
            self._start_run(
                [c for c, _ in items],
                phase,
                cases,
                _group_key(items),
                len(cases) * len(items) / total,
            )
            for phase, cases, items in todo
        ]
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            outcomes = list(pool.map(self._wait_run, runs))
        stopped: Stopped | None = None
        for (phase, _, items), run, (status, records) in zip(todo, runs, outcomes, strict=True):
            if status == "interrupted" or status == "cancelled":
                stopped = stopped or Stopped(
                    "cancelled" if self.cancelled.is_set() else "interrupted"
                )
                continue
            if status == "failed":
                raise ServiceUnavailableError(
                    f"evaluation run {run.id} failed: {run.info().error}", reason="run-failed"
                )
            for candidate, key in items:
                if self.state.recorded(key) is not None:
                    continue
                mine = [r for r in records if r.prompt_version == candidate.version]
                result = summarize_records(mine, self.judges, phase)
                self._record(
                    "candidate-evaluated",
                    key=key,
                    candidate=candidate.id,
                    run_id=run.id,
                    **result.data,
                )
            if status == "budget-exceeded":
                stopped = stopped or Stopped("budget-exceeded")
        self._publish("progress")
        if stopped is not None:
            if stopped.status == "budget-exceeded":
                self._finish("budget-exceeded")
            raise stopped

    def _start_run(
        self,
        candidates: Sequence[Candidate],
        phase: str,
        cases: Sequence[str],
        key: str,
        share: float,
    ) -> Any:
        """Start (or find again) the run of one step; it gets ``share`` of the budget left
        (its part of the cells started together), so together they cannot overspend it."""
        config = self.config
        remaining = None
        if self.budget_usd is not None:
            left = self.budget_usd - self.state.usage.cost_usd
            remaining = max(left * share, 1e-9)
        if phase == "test":
            remaining = None  # the test split is outside the optimization's budget
        evaluations = self.engine.evaluations
        names = ",".join(c.id for c in candidates)
        try:
            run = evaluations.evaluate(
                prompt=config.prompt_id,
                dataset=config.dataset_version_id,
                models=config.models,
                scorers=config.scorers,
                versions=[c.version for c in candidates],
                cases=list(cases),
                budget=remaining,
                seed=config.seed,
                concurrency=self.concurrency,
                cache=True,
                name=f"{self.state.id} {names} {phase}",
                idempotency_key=f"{self.state.id}:{key}",
                api_keys=self.api_keys,
                allow_code=config.allow_code,
            )
        except ConflictError as exc:
            # A resume with another budget or concurrency: the step's run exists already.
            if exc.details.get("reason") != "idempotency-mismatch":
                raise
            run = evaluations.get(exc.details["run_id"])
            return self._continue(run, budget=remaining, force=True)
        return self._continue(run, budget=remaining)

    def _continue(self, run: Any, *, budget: float | None, force: bool = False) -> Any:
        """Make sure a step's run (new, or found again on a resume) is being worked."""
        if run.started:
            return run  # this call started it: a scheduler works it
        evaluations = self.engine.evaluations
        status = run.status
        if status == "running":
            evaluations.ensure_worked(run.id)  # a dead process's run comes back interrupted
            status = run.status
        stopped = status in ("interrupted", "pending") or (
            status == "cancelled" and not self.cancelled.is_set()
        )
        if stopped or (force and status == "budget-exceeded"):
            run = evaluations.resume(
                run.id, concurrency=self.concurrency, api_keys=self.api_keys, budget=budget
            )
        return run

    def _wait_run(self, run: Any) -> tuple[str, list[Any]]:
        cancelled = False
        while True:
            self._heartbeat()
            if self.cancelled.is_set() and not cancelled:
                cancelled = True
                try:
                    run.cancel()
                except NexusError:
                    pass
            try:
                info = run.wait(progress=False, timeout=2.0)
                break
            except ServiceUnavailableError as exc:
                if exc.details.get("reason") != "timeout":
                    raise
            if self.closing.is_set() and not self.cancelled.is_set():
                return "interrupted", []  # the engine closes: its runs end interrupted
        status = info.status.value
        if status == "interrupted" and not (self.closing.is_set() or self.cancelled.is_set()):
            # Nobody worked it (a scheduler restarted): go on with it.
            run = self._continue(self.engine.evaluations.get(run.id), budget=None)
            return self._wait_run(run)
        return status, run.records() if status in ("completed", "budget-exceeded") else []

    # -- the end -------------------------------------------------------------------------

    def _finish(self, stop: str) -> None:
        state = self.state
        baseline = state.candidates["c0"]
        best = state.best() or baseline
        self._evaluate_all(
            [
                (c, "test", state.split.test, f"eval:{c.id}:test")
                for c in ([baseline] if best.id == baseline.id else [baseline, best])
            ]
        )
        self.engine.prompts.label(self.config.prompt_id, best_label(state.id), to=best.version)
        status = "budget-exceeded" if stop == "budget-exceeded" else "completed"
        self._record("finished", status=status, stop=stop, best=best.id, best_version=best.version)
        self._publish("finished")

    # -- recording -----------------------------------------------------------------------

    def _check_running(self) -> None:
        if self.cancelled.is_set():
            raise Stopped("cancelled", "cancelled by the user")
        if self.closing.is_set():
            raise Stopped("interrupted")

    def _record(self, type_: str, **data: Any) -> None:
        self.state.record(Event(type_, data))
        self.store.append(self.state)

    def _heartbeat(self) -> None:
        try:
            self.redis.set(alive_key(self.state.id), str(os.getpid()), ex=ALIVE_TTL_S)
        except Exception:
            log.warning("cannot refresh the optimization's liveness key")

    def _publish(self, kind: str, **extra: Any) -> None:
        state = self.state
        best = state.best()
        payload = {
            "type": kind,
            "id": state.id,
            "status": state.status if kind != "interrupted" else "interrupted",
            "calls": state.usage.calls,
            "max_metric_calls": self.config.max_metric_calls,
            "best_score": state.val_score(best) if best else None,
            "best_candidate": best.id if best else None,
            "front_size": len(state.front()),
            "candidates": len(state.candidates),
            "generation": state.generation,
            "cost_usd": round(state.usage.cost_usd, 8),
            "at": utc_now_iso(),
            **extra,
        }
        try:
            self.redis.xadd(
                stream_key(state.id),
                streams.encode(payload),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            self._heartbeat()
        except Exception:
            log.warning("cannot publish optimization progress", optimization=state.id)


def _group_key(items: Sequence[tuple[Candidate, str]]) -> str:
    """The key of a run shared by ``items``: the first item's (alone: its own, as a run of
    one candidate always had), and how many more share it."""
    first = items[0][1]
    return first if len(items) == 1 else f"{first}+{len(items) - 1}"


def _env(catalogue: Any, api_keys: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for account in catalogue.accounts:
        if account.requires_api_key and account.provider in api_keys:
            env[account.key_env_var] = api_keys[account.provider]
    return env
