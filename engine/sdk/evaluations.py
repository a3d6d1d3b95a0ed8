"""The evaluation SDK: validate a run before any call, start it on the scheduler, follow it.

Everything that can be checked is checked before the run is recorded: prompt versions,
the dataset version, models (and their API keys), scorers (regexes, JSON schemas), budget.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from domain.evaluation import RunSpec, RunStatus, check_budget, check_concurrency
from domain.evaluation.failure import error_of
from domain.llm import Catalogue, ProviderAccount, check_generation_params
from domain.scoring import (
    CustomScorer,
    ScorerSpec,
    build_scorers,
    check_code_allowed,
    code_scorer_names,
    custom_scorer,
)
from engine import tracing
from engine.aio import run_sync
from engine.evaluation.code_files import read_code_file
from engine.evaluation.context import RunContext, account_keys
from engine.evaluation.datasets import DatasetStore
from engine.evaluation.feedback import FeedbackStore
from engine.evaluation.runs import RunInfo, RunStore
from engine.sdk.run import Run

if TYPE_CHECKING:
    from sqlalchemy import Engine as DbEngine

    from actors.scheduler_client import SchedulerClient
    from engine.llm import BudgetStore
    from engine.sdk.flows import Flows
    from engine.sdk.prompts import Prompts

ScorerInput = str | dict[str, Any] | ScorerSpec | CustomScorer | Callable[..., Any]


def catalogue_key(catalogue: Catalogue) -> str:
    payload = json.dumps(catalogue.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def split_scorers(
    scorers: Sequence[ScorerInput], *, allow_code: bool = False, base_dir: Path | None = None
) -> tuple[tuple[dict[str, Any], ...], tuple[CustomScorer, ...]]:
    """Registered scorer records (rebuildable by name) and custom Python scorers.

    Code assertions (``python``, ``javascript``) are refused unless ``allow_code``; with it,
    a ``file`` argument is read here (relative to ``base_dir``, default the working
    directory) into the spec's ``source``.

    Raises:
        CodeNotAllowedError: a code assertion without ``allow_code``.
        ValidationError: an invalid spec, or a code file that cannot be read.
    """
    registered: list[dict[str, Any]] = []
    custom: list[CustomScorer] = []
    for item in scorers:
        if isinstance(item, CustomScorer):
            custom.append(item)
        elif isinstance(item, ScorerSpec):
            registered.append(item.to_dict())
        elif isinstance(item, str):
            registered.append(ScorerSpec(item).to_dict())
        elif isinstance(item, dict):
            registered.append(ScorerSpec.from_dict(item).to_dict())
        elif callable(item):
            custom.append(custom_scorer(item))
        else:
            raise ValidationError(f"not a scorer: {item!r}", reason="unknown-scorer")
    check_code_allowed(registered, allowed=allow_code, where="a run without allow_code=True")
    if allow_code:
        base = base_dir or Path.cwd()
        registered = [read_code_file(spec, base) for spec in registered]
    build_scorers(registered)  # validates types, args, regexes and schemas now
    return tuple(registered), tuple(custom)


def owns_run(db: DbEngine, owner: str, run_id: str) -> bool:
    """Whether ``run_id`` is a run of ``owner`` (for who may follow its events)."""
    try:
        RunStore(db).get(owner, run_id)
    except NotFoundError:
        return False
    return True


class Evaluations:
    """Runs of one owner: validate, start, resume, cancel, find.

    Args:
        db: The metadata database (runs, datasets, results).
        owner: The user every call acts as; nobody sees another owner's runs.
        prompts: The owner's prompt SDK (versions are resolved through it).
        catalogue: Returns the catalogue in force when a run starts.
        scheduler: The deployment's run scheduler.
        redis: A sync Redis client (a run's progress events).
        budgets: Where a run's budget cap is set; None without Redis.
        hold_gateway: Creates an account's gateway in this process and keeps it for the
            engine's life (one an evaluator created would die with that evaluator); None
            when the engine that works the runs holds them (a joiner's).
    """

    def __init__(
        self,
        *,
        db: DbEngine,
        owner: str,
        prompts: Prompts,
        catalogue: Callable[[], Catalogue],
        scheduler: SchedulerClient,
        redis: Any,
        budgets: Callable[[], BudgetStore] | None = None,
        hold_gateway: Callable[[ProviderAccount], None] | None = None,
        user: str | None = None,
        flows: Flows | None = None,
    ) -> None:
        self.owner = owner
        self.user = owner if user is None else user
        self.prompts = prompts
        self.flows = flows
        self.datasets = DatasetStore(db)
        self.runs = RunStore(db)
        self.feedback = FeedbackStore(db, self.runs)
        self.redis = redis
        self._catalogue = catalogue
        self._scheduler = scheduler
        self._budgets = budgets
        self._hold_gateway = hold_gateway

    def scheduler(self) -> SchedulerClient:
        """The deployment's run scheduler (its actor starts on the first call)."""
        return self._scheduler

    def ensure_worked(self, run_id: str) -> None:
        """Make sure a scheduler works ``run_id`` if it is unfinished: continue it from the
        cluster's copy of its context, or mark it `interrupted` when there is none."""
        self._scheduler.recover(run_id)

    def list(self, *, limit: int = 50, before: str | None = None) -> builtins.list[RunInfo]:
        """The owner's runs, newest first."""
        return self.runs.list_runs(self.owner, limit=limit, before=before)

    def evaluate(
        self,
        *,
        prompt: str | None = None,
        dataset: str,
        models: Sequence[str],
        scorers: Sequence[ScorerInput] = (),
        versions: Sequence[str] | None = None,
        dataset_version: int | None = None,
        repeats: int = 1,
        budget: float | None = None,
        seed: int = 0,
        concurrency: int = 64,
        cache: bool = True,
        params: dict[str, Any] | None = None,
        name: str = "",
        idempotency_key: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        routing: str = "fixed",
        cases: Sequence[str] | None = None,
        allow_code: bool = False,
        flow: str | None = None,
    ) -> Run:
        """Validate and start a run; returns at once with a `Run` handle.

        ``flow`` (``name`` or ``name@ref``) runs versions of a flow instead of a prompt:
        each cell executes the flow for one case (``versions`` are then the flow's refs).

        ``versions`` are refs (``main``, ``production``, ``v3``, ``main~1``...). ``api_keys``
        (provider → key, e.g. the owner's stored keys) are used for accounts of that provider
        that need a key, before the process environment. ``routing`` ``"cheapest"`` or
        ``"lowest-latency"`` sends each call to one of ``models`` chosen by that rule (one
        group per version; each result records the model used); ``"fixed"`` calls them all.
        ``cases`` (case ids) runs a subset of the dataset version's cases, in dataset order.
        ``allow_code`` lets ``python``/``javascript`` scorers run (the caller supplied them:
        never set it for scorers a remote user sent).
        """
        self._ensure_accepting()
        registered, custom = split_scorers(scorers, allow_code=allow_code)
        prompt, versions = self._target(prompt, flow, versions)
        prompt_info = self.prompts.get(prompt)
        refs = list(versions) if versions else ["main"]
        resolved = [self.prompts.show(prompt, ref) for ref in refs]
        if flow is not None:
            _check_flow_versions(resolved)
        pins = self._pins(resolved, {})
        version = self.datasets.version(self.owner, dataset, dataset_version)
        cases = _subset(self.datasets.cases(self.owner, version.id), cases)
        spec = RunSpec(
            prompt_id=prompt_info.id,
            prompt_versions=tuple(v.id for v in resolved),
            models=tuple(models),
            dataset_version_id=version.id,
            case_ids=tuple(c.id for c in cases),
            scorers=registered,
            repeats=repeats,
            seed=seed,
            budget_usd=budget,
            cache=cache,
            params=dict(params or {}),
            routing=routing,
            concurrency=concurrency,
            allow_code=allow_code and _runs_code(registered, cases),
            flow_pins=pins,
        )
        _check_case_scorers(registered, custom, cases)
        case_specs = [spec for case in cases for spec in case.scorers]
        check_code_allowed(case_specs, allowed=allow_code, where="a run without allow_code=True")
        context = self._context("pending", spec, custom, resolved, cases, api_keys or {})
        _check_parameters(context)
        try:
            self._check_models(context)
        except ConfigurationError as exc:  # e.g. a real provider's API key is not set
            raise ValidationError(exc.message, reason="model-unavailable", **exc.details) from None
        _check_picklable(custom)
        _check_tools(context)
        info = self.runs.create(self.owner, spec, name=name, idempotency_key=idempotency_key)
        if info.status.value != "pending":  # an idempotent replay of a started run
            return Run(self, info.id)
        try:
            return self._start(info, context)
        except Exception as exc:
            # Nobody would ever work a run whose start failed: it must not stay `pending`.
            self.runs.set_status(info.id, RunStatus.FAILED, error_of(exc))
            raise

    def resume(
        self,
        run_id: str,
        *,
        scorers: Sequence[ScorerInput] = (),
        concurrency: int | None = None,
        api_keys: Mapping[str, str] | None = None,
        budget: float | None = None,
    ) -> Run:
        """Continue a stopped or interrupted run; recorded cells are never called again.

        Args:
            run_id: The run.
            scorers: Custom Python scorers of the run (they are not stored).
            concurrency: Calls in flight at once from now on; None keeps the run's own.
            api_keys: Provider keys, as for `evaluate`.
            budget: A new cap in USD for the whole run (what it spent so far counts), e.g.
                to finish a run stopped at its budget; None keeps the cap it had.

        Raises:
            ValidationError: ``budget`` is not a positive amount, or ``concurrency`` not 1..4096.
            ConflictError: the run is completed.
        """
        info = self.runs.get(self.owner, run_id)
        self._ensure_accepting()
        if budget is not None:
            check_budget(budget)
        if concurrency is not None:
            check_concurrency(concurrency)
        if budget is not None:
            info = self.runs.set_budget(run_id, budget)
        if concurrency is not None:
            info = self.runs.set_concurrency(run_id, concurrency)
        _, custom = split_scorers(scorers)
        _check_picklable(custom)
        resolved = [self.prompts.show(info.spec.prompt_id, v) for v in info.spec.prompt_versions]
        cases = self.datasets.cases(self.owner, info.spec.dataset_version_id)
        context = self._context(info.id, info.spec, custom, resolved, cases, api_keys or {})
        _check_parameters(context)
        return self._start(info, context)

    def cancel(self, run_id: str) -> Run:
        """Stop dispatching a run; cells in flight finish and are recorded.

        Raises:
            ConflictError: ``reason="run-finished"``: the run had already stopped.
        """
        # A completed run is never worked again: no need to reach the scheduler to say so.
        finished = self.runs.get(self.owner, run_id).status
        if finished is not RunStatus.COMPLETED:
            if self._scheduler.cancel(run_id):
                return Run(self, run_id)
            finished = self.runs.get(self.owner, run_id).status
        if finished.terminal():
            raise ConflictError(
                f"run {run_id} is already {finished.value}",
                reason="run-finished",
                status=finished.value,
            )
        self.runs.set_status(run_id, RunStatus.CANCELLED)
        return Run(self, run_id)

    def get(self, run_id: str) -> Run:
        self.runs.get(self.owner, run_id)
        return Run(self, run_id)

    def _target(
        self, prompt: str | None, flow: str | None, versions: Sequence[str] | None
    ) -> tuple[str, Sequence[str] | None]:
        """The prompt (a flow's own, for ``flow``) and the refs a run evaluates."""
        if (prompt is None) == (flow is None):
            raise ValidationError("a run evaluates a prompt or a flow: give one", reason="bad-run")
        if flow is None:
            assert prompt is not None
            return prompt, versions
        if self.flows is None:
            raise ValidationError("flows are not available here", reason="bad-run")
        name, at, ref = flow.rpartition("@")
        if at and versions:
            raise ValidationError("give flow='name@ref' or versions, not both", reason="bad-run")
        key = self.flows.key(name if at else flow)
        return key, [ref] if at else versions

    def _pins(
        self, resolved: Sequence[Any], pinned: Mapping[str, Mapping[str, str]]
    ) -> dict[str, dict[str, str]]:
        """Each flow version's llm steps → the prompt version it calls (kept when pinned)."""
        from domain.flows import from_template, is_flow_template

        pins: dict[str, dict[str, str]] = {}
        for version in resolved:
            if is_flow_template(version.template):
                if self.flows is None:
                    raise ValidationError("flows are not available here", reason="bad-run")
                _, pins[version.id] = self.flows.plan_of(
                    from_template(version.template), pinned.get(version.id)
                )
        return pins

    def _plans(self, spec: RunSpec, resolved: Sequence[Any]) -> dict[str, Any]:
        from domain.flows import from_template, is_flow_template

        plans: dict[str, Any] = {}
        for version in resolved:
            if is_flow_template(version.template) and self.flows is not None:
                plans[version.id], _ = self.flows.plan_of(
                    from_template(version.template), spec.flow_pins.get(version.id)
                )
        return plans

    def _context(
        self,
        run_id: str,
        spec: RunSpec,
        custom: tuple[CustomScorer, ...],
        resolved: Sequence[Any],
        cases: Sequence[Any],
        api_keys: Mapping[str, str],
    ) -> RunContext:
        catalogue = self._catalogue()
        return RunContext(
            run_id=run_id,
            owner=self.owner,
            spec=spec,
            templates={v.id: v.template for v in resolved},
            settings={v.id: v.settings for v in resolved},
            cases={c.id: c for c in cases},
            catalogue=catalogue,
            catalogue_key=catalogue_key(catalogue),
            custom_scorers=custom,
            concurrency=spec.concurrency,
            flows=self._plans(spec, resolved),
            api_keys=account_keys(catalogue, api_keys),
        )

    def own_gateways(self, context: RunContext) -> None:
        """Create the run's gateways in this process, so they live as long as the engine: one
        created by an evaluator died with it when the evaluator was killed."""
        if self._hold_gateway is None:
            return
        from actors.provider_gateway import accounts_used

        models = [*context.spec.models, *_run_scorer_models(context)]
        for account in accounts_used(context.catalogue, models):
            self._hold_gateway(account)

    def _check_models(self, context: RunContext) -> None:
        from engine.llm import CompletionRequest, LLMClient

        client = LLMClient(context.catalogue, redis_url=None, links=_no_links, env=context.env())
        first = next(iter(context.templates))
        case = next(iter(context.cases.values()))
        model: Any
        for model in context.spec.models:
            messages = (
                [{"role": "user", "content": "x"}]
                if first in context.flows
                else context.templates[first].render(case.variables).as_dicts()
            )
            client.check(CompletionRequest(model, messages))
        for plan in context.flows.values():
            for step in plan.flow.walk():
                if step.model:
                    client.check(CompletionRequest(step.model, [{"role": "user", "content": "x"}]))
        for model in _run_scorer_models(context):
            client.check(CompletionRequest(model, [{"role": "user", "content": "x"}]))

    def _ensure_accepting(self) -> None:
        """Refuse, before anything is stored, a run nobody here could work (a guest of an
        owner that serves no control channel)."""
        from engine.sdk.hosting import OwnerWorksRuns

        if isinstance(self._scheduler, OwnerWorksRuns):
            raise self._scheduler.refusal()

    def _start(self, info: RunInfo, context: RunContext) -> Run:
        context = _with_run_id(context, info.id)
        if info.spec.budget_usd is not None and self._budgets is not None:
            store = self._budgets()
            run_sync(_set_limit(store, f"run:{info.id}", info.spec.budget_usd))
        self.own_gateways(context)
        self._scheduler.submit(context)
        return Run(self, info.id, started=True)


async def _set_limit(store: Any, scope: str, limit: float) -> None:
    try:
        await store.set_limit(scope, limit)
    finally:
        await store.aclose()


def _check_parameters(context: RunContext) -> None:
    """Refuse, before the run exists, parameters an evaluator would refuse on every cell.

    A version committed before the allow-list may still hold e.g. ``mock_response``.
    """
    check_generation_params(context.spec.params, "params")
    for version_id, settings in context.settings.items():
        try:
            settings.check_parameters()
        except ValidationError as exc:
            raise ValidationError(
                f"prompt version {version_id[:12]}: {exc.message}", **exc.details
            ) from None


def _subset(cases: Sequence[Any], ids: Sequence[str] | None) -> builtins.list[Any]:
    """The cases named by ``ids`` (all when None), in dataset order.

    Raises:
        ValidationError: ``reason="unknown-case"`` for an id the dataset version lacks.
    """
    if ids is None:
        return builtins.list(cases)
    if isinstance(ids, str):
        raise ValidationError("cases must be a list of case ids", reason="unknown-case")
    wanted = set(ids)
    known = {c.id for c in cases}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValidationError(
            f"unknown case id(s) in this dataset version: {', '.join(unknown[:5])}",
            reason="unknown-case",
            cases=unknown[:20],
        )
    return [c for c in cases if c.id in wanted]


def _runs_code(registered: Sequence[dict[str, Any]], cases: Sequence[Any]) -> bool:
    """Whether the run's scorers or its cases' own scorers run code."""
    return bool(code_scorer_names([*registered, *(s for c in cases for s in c.scorers)]))


def _check_case_scorers(
    registered: Sequence[dict[str, Any]], custom: Sequence[CustomScorer], cases: Sequence[Any]
) -> None:
    """Refuse cases whose own scorers share a name with the run's: scores are keyed by name.

    Raises:
        ValidationError: ``reason="scorer-name-clash"`` naming the first case and scorer.
    """
    run_names = {s.get("name") or s["type"] for s in registered} | {s.name for s in custom}
    for case in cases:
        for own in case.scorers:
            if own["name"] in run_names:
                raise ValidationError(
                    f"case {case.id!r} has its own scorer named {own['name']!r}, like one of the "
                    "run's scorers; give one of them a distinct 'name'",
                    reason="scorer-name-clash",
                    case=case.id,
                    scorer=own["name"],
                )


def _run_scorer_models(context: RunContext) -> list[str]:
    """The models the run's scorers and its cases' own scorers call, each once."""
    specs = list(context.spec.scorers)
    seen: set[str] = set()
    for case in context.cases.values():
        for own in case.scorers:
            key = json.dumps(own, sort_keys=True)
            if key not in seen:
                seen.add(key)
                specs.append(own)
    return list(dict.fromkeys(_scorer_models(specs)))


def _scorer_models(scorers: Sequence[dict[str, Any]]) -> list[str]:
    """The models registered scorers call (judges, embeddings)."""
    models: list[str] = []
    # one at a time: two cases may each have their own scorer of the same name
    for scorer in (built for spec in scorers for built in build_scorers([spec])):
        for attr in ("judge_model", "model"):
            model = getattr(scorer, attr, None)
            if isinstance(model, str) and model:
                models.append(model)
    return models


def _with_run_id(context: RunContext, run_id: str) -> RunContext:
    """``context`` for run ``run_id``, under a span of its start (its cells' parent)."""
    from dataclasses import replace

    ids = {"autoforge.run_id": run_id, "autoforge.prompt_id": context.spec.prompt_id}
    with tracing.span("run", ids):
        return replace(context, run_id=run_id, traceparent=tracing.traceparent())


def _check_flow_versions(resolved: Sequence[Any]) -> None:
    """Refuse a flow run of a version that holds no flow (a prompt command wrote it)."""
    from domain.flows import flow_error, is_flow_template

    for version in resolved:
        if not is_flow_template(version.template):
            raise flow_error(f"version {version.id[:12]} holds no flow", "not-a-flow")


def _check_tools(context: RunContext) -> None:
    """Refuse a flow whose registered tools cannot travel to the evaluators."""
    tools = [item for plan in context.flows.values() for item in plan.tools.items()]
    if not tools:
        return  # nor import Ray: a cold inline run never loads it
    import ray.cloudpickle as cloudpickle

    for name, tool in tools:
        try:
            cloudpickle.dumps(tool)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise ValidationError(
                f"tool {name!r} cannot be sent to the evaluators: {exc}",
                reason="unpicklable-tool",
            ) from None


def _check_picklable(scorers: tuple[Any, ...]) -> None:
    if not scorers:
        return
    import ray.cloudpickle as cloudpickle

    for scorer in scorers:
        try:
            cloudpickle.dumps(scorer)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise ValidationError(
                f"custom scorer {scorer.name!r} cannot be sent to the evaluators: {exc}",
                reason="unpicklable-scorer",
            ) from None


def _no_links(_account: Any) -> Any:
    raise NotFoundError("no gateway in a dry check", reason="internal")
