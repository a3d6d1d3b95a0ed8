"""`Engine`: the SDK facade for notebooks, scripts, the CLI and the API.

It wires the runtime (database, Redis, Ray) to the services of each bounded context and
holds no business rules of its own.

Examples:
    >>> from engine import Engine
    >>> with Engine(simulator=True) as engine:                            # doctest: +SKIP
    ...     engine.prompts.create("qa", "{{question}}")
    ...     engine.datasets.import_file("qa-cases", "cases.jsonl")
    ...     run = engine.evaluate(prompt="qa", dataset="qa-cases",
    ...                           models=["openai/sim-small"], scorers=["icontains"])
    ...     run.wait()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine import timings, tracing
from engine.runtime import Runtime
from engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from domain.llm import Catalogue, ProviderAccount
    from domain.reports import Comparison
    from domain.scoring.listing import ScorerDescription
    from domain.workspaces import Role
    from engine.evaluation.runs import RunInfo
    from engine.sdk.datasets import Datasets
    from engine.sdk.evaluations import Evaluations, ScorerInput
    from engine.sdk.flows import Flows
    from engine.sdk.optimizations import Optimization, OptimizationInfo, Optimizations
    from engine.sdk.playground import Playground, Playgrounds
    from engine.sdk.prompts import Prompts
    from engine.sdk.queues import Queues
    from engine.sdk.run import Run
    from engine.sdk.workspaces import Workspaces
    from engine.simulator import SimulatorConfig

DEFAULT_OWNER = "local"
DRAIN_TIMEOUT_S = 30.0
"""How long a stopping `serve_forever` waits for the cells in flight to be recorded."""


@dataclass
class _Shared:
    """What every owner view of one engine shares: the runtime, the catalogue and the actor
    clients. Only the engine that started the runtime owns (and closes) it."""

    settings: Settings
    runtime: Runtime
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    simulator: Any = None
    catalogue: Catalogue | None = None
    # Actor clients: a named, non-detached actor dies with its last handle, so they live as
    # long as the engine does.
    clients: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    control: Any = None
    """The control server answering joiners, and its backend (owner only)."""
    backend: Any = None
    warming: threading.Thread | None = None
    tools: dict[str, Callable[..., Any]] | None = None
    """Flow tools of every owner's view: the operator's (settings), then the SDK's."""

    def flow_tools(self) -> dict[str, Callable[..., Any]]:
        with self.lock:
            if self.tools is None:
                from engine.sdk.flows import load_tools

                self.tools = load_tools(self.settings.flow_tools)
            return self.tools

    def client(self, key: str, factory: Callable[[], Any]) -> Any:
        with self.lock:
            if key not in self.clients:
                self.clients[key] = factory()
            return self.clients[key]


class Engine:
    """One connection to AutoForge Nexus, with embedded services by default.

    Args:
        address: a Ray cluster address to join; `None` uses `RAY_ADDRESS` if set, else
            the `executor` setting (`auto`: the actors run in this process, see
            `engine.executor`).
        settings: explicit settings; read from the environment when omitted.
        owner: the user every call acts as (the API passes the authenticated user).
        workspace: the workspace to act in (``owner`` must be a member); default the
            user's personal workspace, whose id is the user's id. See `in_workspace`.
        simulator: start the simulated provider in-process and add its `openai/sim-*`
            models to the catalogue (True, or a `SimulatorConfig`).
        **overrides: individual settings, e.g. `data_dir=...`.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        settings: Settings | None = None,
        owner: str = DEFAULT_OWNER,
        workspace: str | None = None,
        simulator: bool | SimulatorConfig = False,
        **overrides: Any,
    ) -> None:
        timings.moment("imported")
        if settings is None:
            if address is not None:
                overrides["ray_address"] = address
            settings = load_settings(**overrides)
        tracing.configure("autoforge")
        self.owner = owner
        self.user = owner
        self._owns_runtime = True
        self._shared = _Shared(settings, Runtime(settings, serves_control=True).start())
        try:
            if workspace is not None:
                joined, self._role = self.workspaces.role(workspace)
                self.owner = joined.id
            self._serve_joiners()
            if simulator:
                from engine.simulator import SimulatorConfig, running_simulator

                config = simulator if isinstance(simulator, SimulatorConfig) else None
                self._shared.simulator = self._shared.stack.enter_context(
                    running_simulator(config or SimulatorConfig())
                )
        except BaseException:
            self.close()
            raise

    _role: Role | None = None
    """The user's role in the workspace acted in, checked before each call (see
    `engine.sdk.permits`); ``None``: a trusted view (the API's, after its own check)."""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name.startswith("_"):
            return value
        role = object.__getattribute__(self, "_role")
        if role is None or role == "owner":
            return value
        from engine.sdk.permits import permitted_attribute

        return permitted_attribute(self, name, value, role)

    @classmethod
    def _view(cls, shared: _Shared, owner: str, user: str, role: Role | None = None) -> Engine:
        view = cls.__new__(cls)
        view._shared = shared
        view.owner = owner
        view.user = user
        view._owns_runtime = False
        view._role = role
        return view

    def as_owner(self, owner: str, user: str | None = None) -> Engine:
        """A view of this engine acting in workspace `owner` as `user` (default: `owner`,
        i.e. a user in their personal workspace); the API uses one per request, after it
        checked the user's role there.

        The view shares the runtime, catalogue and actors, and builds its own services (a
        fresh object: nothing of another owner's view carries over); closing it closes
        nothing. Rows are stored under `owner`; feedback and prompt events name `user`.
        """
        return Engine._view(self._shared, owner, owner if user is None else user)

    def in_workspace(self, workspace: str) -> Engine:
        """A view of this engine acting in `workspace` as the same user, in the role the
        user has there: a call the role does not grant raises `ForbiddenError`
        (``reason="missing-permission"``), by the table the HTTP API checks
        (`domain.workspaces.GRANTS`; see `engine.sdk.permits`).

        Raises:
            NotFoundError: the user is not a member of `workspace`.

        Examples:
            >>> team = engine.workspaces.create("qa team")                  # doctest: +SKIP
            >>> engine.in_workspace(team.id).prompts.create("greeter", "Hi {{name}}")
        """
        joined, role = self.workspaces.role(workspace)
        return Engine._view(self._shared, joined.id, self.user, role)

    @cached_property
    def workspaces(self) -> Workspaces:
        """The user's workspaces and their members: list, create, add_member, set_role..."""
        from engine.sdk.workspaces import Workspaces
        from engine.workspaces import WorkspaceStore

        return Workspaces(WorkspaceStore(self._db()), self.user)

    @property
    def settings(self) -> Settings:
        """The settings this engine runs with."""
        return self._shared.settings

    @property
    def runtime(self) -> Runtime:
        """The started services: database, Redis, Ray."""
        return self._shared.runtime

    @property
    def simulator(self) -> Any:
        """The in-process simulator (``Engine(simulator=True)``), else None."""
        return self._shared.simulator

    @property
    def catalogue(self) -> Catalogue:
        """Models and provider accounts this engine may call (file, defaults, simulator)."""
        shared = self._shared
        if shared.catalogue is None:
            from engine.llm import default_catalogue, load_catalogue

            if self.settings.catalogue_path is not None:
                shared.catalogue = load_catalogue(self.settings.catalogue_path)
            else:
                sim = shared.simulator
                shared.catalogue = default_catalogue(sim.api_base if sim else None)
        return shared.catalogue

    def use_catalogue(self, catalogue: Catalogue) -> None:
        """Replace the catalogue (e.g. a simulator with rate limits) for later runs."""
        self._shared.catalogue = catalogue

    @cached_property
    def prompts(self) -> Prompts:
        """Prompt versioning: create, commit, log, diff, revert, branch, merge, label."""
        from engine.sdk.hosting import prompt_commands
        from engine.sdk.prompts import Prompts

        commands = self._shared.client(
            "prompt-shards", lambda: prompt_commands(self.runtime, self.settings)
        )
        return Prompts(db=self._db(), owner=self.owner, shards=commands, actor=self.user)

    @cached_property
    def flows(self) -> Flows:
        """Workflows: create, commit, get, history, diff, label; register their tools."""
        from engine.sdk.flows import Flows

        return Flows(self.prompts, tools=self._shared.flow_tools())

    @cached_property
    def datasets(self) -> Datasets:
        """Datasets: create, import JSONL/CSV as immutable versions, export."""
        from engine.evaluation.datasets import DatasetStore
        from engine.sdk.datasets import Datasets

        return Datasets(DatasetStore(self._db()), self.owner)

    @cached_property
    def queues(self) -> Queues:
        """Annotation queues of your runs: create, get, list; then ``next``, ``submit``,
        ``skip``, ``progress``, ``agreement`` and ``tally`` on a queue."""
        from engine.evaluation.queue_leases import RedisLeases
        from engine.evaluation.queues import QueueStore
        from engine.evaluation.runs import RunStore
        from engine.sdk.queues import Queues, redis_publisher

        db = self._db()
        redis = self.runtime.redis if self.runtime.redis_url else None
        publish = redis_publisher(redis) if redis is not None else None
        leases = RedisLeases(redis) if redis is not None else None
        store = QueueStore(db, RunStore(db), publish=publish, leases=leases)
        return Queues(store, self.owner)

    @cached_property
    def evaluations(self) -> Evaluations:
        """The evaluation service behind `evaluate`, `resume`, `run` and `runs`."""
        from engine.sdk.evaluations import Evaluations

        rt = self.runtime
        return Evaluations(
            db=self._db(),
            owner=self.owner,
            prompts=self.prompts,
            catalogue=lambda: self.catalogue,
            scheduler=self._shared.client("run-scheduler", self._scheduler),
            redis=rt.redis,
            budgets=self._budgets if rt.redis_url else None,
            hold_gateway=self._hold_gateway if rt.owner_served is None else None,
            user=self.user,
            flows=self.flows,
        )

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
        """Start a run of prompt version(s) × model(s) × dataset × repeats.

        Args:
            prompt: The prompt's name or id.
            dataset: The dataset's name or id.
            models: Catalogue model names, e.g. ``["openai/sim-small"]``.
            scorers: Scorer names (``"icontains"``), specs (``{"type": "regex", ...}``),
                `ScorerSpec`s or Python callables (custom scorers).
            versions: Prompt version refs (branch, label, id); default ``["main"]``.
            dataset_version: The dataset version number; default the latest.
            repeats: Calls per (version, model, case).
            budget: A cap in USD for the whole run; the run stops when it is spent.
            seed: Seeds sampling and the order of cells.
            concurrency: Calls in flight at once (1..4096).
            cache: Reuse recorded answers of identical requests.
            params: Generation parameters for every call (e.g. ``{"temperature": 0}``).
            name: A label for the run.
            idempotency_key: The same key returns the same run instead of a second one.
            api_keys: Provider → key, used before the environment's.
            routing: ``"fixed"`` calls every model; ``"cheapest"`` or ``"lowest-latency"``
                routes each call to one of ``models`` by that rule (`domain.llm.routing`).
            cases: Case ids: run only these cases of the dataset version; default all.
            allow_code: Let code assertions (``python``, ``javascript`` scorers) run, each
                call in a subprocess bounded in time and memory; their ``file`` argument
                (``"file://checks.py:get_assert"``) is read now, from the working directory.
                Only for code you wrote: the HTTP API never sets it.
            flow: A flow to run instead of ``prompt``: ``"name"`` (with ``versions`` as its
                refs) or ``"name@ref"``; each cell executes the flow for one case and
                records its trace (see docs/flows.md).

        Returns:
            A `Run`; call `run.wait()` to follow it with a progress bar.

        Raises:
            ValidationError: unknown prompt version or scorer, empty dataset, invalid regex
                or JSON schema, budget <= 0, unknown case id: all before any provider call.
            CodeNotAllowedError: a code assertion without ``allow_code=True``.
        """
        return self.evaluations.evaluate(
            prompt=prompt,
            dataset=dataset,
            models=models,
            scorers=scorers,
            versions=versions,
            dataset_version=dataset_version,
            repeats=repeats,
            budget=budget,
            seed=seed,
            concurrency=concurrency,
            cache=cache,
            params=params,
            name=name,
            idempotency_key=idempotency_key,
            api_keys=api_keys,
            routing=routing,
            cases=cases,
            allow_code=allow_code,
            flow=flow,
        )

    @cached_property
    def optimizations_service(self) -> Optimizations:
        """The optimization service behind `optimize`, `optimization`, `optimizations` and
        `resume_optimization`."""
        from engine.sdk.optimizations import Loops, Optimizations

        return Optimizations(self, self._shared.client("optimization-loops", Loops))

    def optimize(
        self,
        prompt: str,
        dataset: str,
        models: Sequence[str],
        scorers: Sequence[ScorerInput],
        *,
        optimizer: str = "gepa",
        reflection_model: str | None = None,
        max_metric_calls: int = 500,
        budget: float | None = None,
        split: Sequence[float] = (0.5, 0.25, 0.25),
        minibatch: int = 8,
        seed: int = 0,
        concurrency: int = 32,
        parallel: int | None = None,
        base: str = "main",
        dataset_version: int | None = None,
        name: str = "",
        idempotency_key: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        patience: int | None = None,
        allow_code: bool = False,
    ) -> Optimization:
        """Start optimizing a prompt's system message and template on a dataset.

        The dataset version's cases are split (seeded) into train, validation and test.
        Each candidate is committed on branch ``opt/<id>``, judged on a training minibatch
        against its parent, validated when better, and kept on a Pareto front; at the end
        baseline and best are evaluated on the test split and the best is labelled
        ``opt/<id>/best``. Every evaluation is an engine run (cache, limits, budgets).

        Args:
            prompt: The prompt's name or id.
            dataset: The dataset's name or id.
            models: The models candidates are evaluated on (scores are averaged).
            scorers: Registered scorer names or specs (at least one).
            optimizer: ``"gepa"``, ``"fewshot"`` or ``"random"`` (the control).
            reflection_model: The model reflection requests go to; default
                ``openai/sim-reflector`` when ``models`` are simulated.
            max_metric_calls: Most candidate cells + reflection calls + judge calls.
            budget: A cap in USD over the same calls.
            split: (train, validation, test) fractions; each split needs >= 2 cases.
            minibatch: Training cases a proposal is judged on.
            seed: Seeds the split and every choice of the loop: same seed, same history.
            concurrency: Calls in flight within each evaluation run.
            parallel: Candidates per generation (at most 32); default ``concurrency`` for
                ``gepa`` (a slot's reflection is one call), ``concurrency // minibatch``
                for the others.
            base: The ref to start from (the baseline).
            dataset_version: The dataset version number; default the latest.
            name: A label for the optimization.
            idempotency_key: The same key returns the same optimization.
            api_keys: Provider → key, used before the environment's.
            options: The optimizer's options (e.g. ``{"merge": True}``).
            patience: Stop after this many generations without a new best (>= 1); default
                no such limit.
            allow_code: Let its runs execute ``python``/``javascript`` scorers you supplied
                (see `evaluate`); recorded, so a resume runs them too.

        Returns:
            An `Optimization`; call `wait()` to follow it with a progress bar.

        Raises:
            ValidationError: ``reason`` ``no-scorer``, ``split-too-small``,
                ``unknown-model``, ``no-reflection-model``, ``invalid-budget``,
                ``invalid-max-metric-calls``, ``unknown-optimizer`` or
                ``unsupported-template``: all before anything is stored or called.
            ServiceUnavailableError: this process cannot work runs (a guest of an engine
                that serves no control channel).
        """
        return self.optimizations_service.optimize(
            prompt,
            dataset,
            models,
            scorers,
            optimizer=optimizer,
            reflection_model=reflection_model,
            max_metric_calls=max_metric_calls,
            budget=budget,
            split=split,
            minibatch=minibatch,
            seed=seed,
            concurrency=concurrency,
            parallel=parallel,
            base=base,
            dataset_version=dataset_version,
            name=name,
            idempotency_key=idempotency_key,
            api_keys=api_keys,
            options=options,
            patience=patience,
            allow_code=allow_code,
        )

    def optimization(self, optimization_id: str) -> Optimization:
        """A handle on an existing optimization of this owner (`NotFoundError` otherwise)."""
        return self.optimizations_service.get(optimization_id)

    def optimizations(self, limit: int = 50, before: str | None = None) -> list[OptimizationInfo]:
        """This owner's optimizations, newest first (``before``: an id, for the next page)."""
        return self.optimizations_service.list(limit=limit, before=before)

    def resume_optimization(
        self,
        optimization_id: str,
        *,
        concurrency: int | None = None,
        budget: float | None = None,
        api_keys: Mapping[str, str] | None = None,
    ) -> Optimization:
        """Continue an interrupted optimization from its event log: recorded evaluations and
        reflection replies are reused, and no recorded cell is called again.

        Args:
            optimization_id: The optimization.
            concurrency: Calls in flight within each run from now on; None keeps its own.
            budget: A new cap in USD (what it spent counts); None keeps its own.
            api_keys: Provider keys, as for `optimize`.

        Raises:
            ConflictError: it is finished, or a loop works it now.
        """
        return self.optimizations_service.resume(
            optimization_id, concurrency=concurrency, budget=budget, api_keys=api_keys
        )

    @cached_property
    def playgrounds(self) -> Playgrounds:
        """Playground sessions: `create`, `get`, `list` (see `playground`)."""
        from engine.sdk.playground import Playgrounds

        return Playgrounds(self)

    def playground(
        self,
        prompt: str,
        models: Sequence[str],
        *,
        version: str = "main",
        params: Mapping[str, Any] | None = None,
    ) -> Playground:
        """A new playground session: try ``prompt`` at ``version`` on ``models`` turn by
        turn, answers streamed as they come; keep every turn, save one as a test case, or
        commit an edited template and go on with it.

        Args:
            prompt: The prompt's name or id.
            models: 1 to 8 catalogue models, asked at once on every turn.
            version: A branch, label, ``v3`` or version id.
            params: Call parameters over the version's settings (``temperature``, …).

        Examples:
            >>> pg = engine.playground("qa", ["openai/sim-small", "openai/sim-large"])
            >>> turn = pg.run({"q": "2+2?"}, on_token=lambda model, text: None)
            >>> [a.content for a in turn.answers]                           # doctest: +SKIP
        """
        return self.playgrounds.create(prompt, models, version=version, params=params)

    def scorers(self) -> list[ScorerDescription]:
        """The registered scorers a run may name, with their arguments (name, type, required,
        default, description)."""
        from domain.scoring.listing import describe_scorers

        return describe_scorers()

    def run(self, run_id: str) -> Run:
        """A handle on an existing run of this owner."""
        return self.evaluations.get(run_id)

    def runs(self, *, limit: int = 50, before: str | None = None) -> list[RunInfo]:
        """This owner's runs, newest first (``before``: a run id, for the next page)."""
        return self.evaluations.list(limit=limit, before=before)

    def resume(
        self,
        run_id: str,
        *,
        scorers: Sequence[ScorerInput] = (),
        concurrency: int | None = None,
        api_keys: Mapping[str, str] | None = None,
        budget: float | None = None,
    ) -> Run:
        """Continue an interrupted or stopped run without re-calling recorded cells.

        Args:
            run_id: The run.
            scorers: The run's custom Python scorers (they are not stored).
            concurrency: Calls in flight at once from now on; None keeps the run's own.
            api_keys: Provider keys, as for `evaluate`.
            budget: A new cap in USD for the whole run (what it spent counts); None keeps it.
        """
        return self.evaluations.resume(
            run_id, scorers=scorers, concurrency=concurrency, api_keys=api_keys, budget=budget
        )

    def compare(self, run_a: Run | str, run_b: Run | str) -> Comparison:
        """Paired comparison of two runs on the same cases (McNemar + bootstrap)."""
        from engine.sdk.run import compare_runs

        a = run_a if not isinstance(run_a, str) else self.run(run_a)
        b = run_b if not isinstance(run_b, str) else self.run(run_b)
        return compare_runs(a, b)

    def timings(self) -> dict[str, float]:
        """Seconds each phase of this process took so far (import, DB, Redis, Ray, workers,
        first lease, first result, run end, teardown), when timings are on
        (``AUTOFORGE_TIMINGS=1`` or `engine.timings.enable`); empty otherwise."""
        return timings.snapshot()

    def metrics_text(self) -> str:
        """The engine's Prometheus metrics in the text exposition format: runs, cells and
        their outcomes, cache hit rates, spend, provider usage, queue depth and recorder lag,
        read now from the database and Redis (every owner's runs, as `GET /metrics`).

        Returns:
            The exposition text; `prometheus_client.parser` reads it back.

        Examples:
            >>> engine = Engine(simulator=True)  # doctest: +SKIP
            >>> "autoforge_cache_hit_ratio" in engine.metrics_text()  # doctest: +SKIP
            True
        """
        from prometheus_client import generate_latest

        registry = self._shared.client("metrics", self._metrics_registry)
        return generate_latest(registry).decode()

    def metrics_targets(self) -> list[str]:
        """Where Prometheus scrapes the actors' live metrics (``ray_autoforge_*``: cells,
        outcomes and cache hits per evaluator, provider requests, 429s and retries per
        gateway, queue depth and spend per run, recorder and stream lag): ``host:port`` of
        each Ray node's metrics agent. Empty with the inline executor, whose numbers are
        `metrics_text`'s.

        Examples:
            >>> Engine(executor="ray").metrics_targets()  # doctest: +SKIP
            ['192.0.2.2:34363']
        """
        if self.runtime.executor != "ray":
            return []
        from engine.ray_runtime import metrics_targets

        return metrics_targets()

    def _metrics_registry(self) -> Any:
        from prometheus_client import CollectorRegistry

        from engine.metrics import EngineCollector
        from engine.redis_client import sync_redis

        if self.runtime.redis_url is None:
            raise RuntimeError("runtime not started")
        redis = sync_redis(self.runtime.redis_url)
        self._shared.stack.callback(redis.close)
        registry = CollectorRegistry()

        def accounts() -> list[str]:
            return [account.name for account in self.catalogue.accounts]

        registry.register(EngineCollector(self._db(), redis, accounts))
        return registry

    def warm(self) -> None:
        """Create the actor pool (scheduler, evaluators, recorder) now rather than in the
        first `evaluate`, and the gateways of a catalogue file's accounts; a no-op when this
        engine uses a running engine's pool."""
        self.evaluations.scheduler().warm()
        if self.settings.catalogue_path is not None and self.runtime.owner_served is None:
            for account in self.catalogue.accounts:
                self._hold_gateway(account)
        if self._shared.backend is not None:
            self._shared.backend.pool_ready = True

    def serve_forever(self) -> None:
        """Keep this engine up for other processes on its data dir (``autoforge engine
        start`` runs this): create the actor pool, serve until SIGTERM or SIGINT, close.
        A stop records the cells in flight and leaves each running run `interrupted`, for
        the next engine to resume."""
        import signal

        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        if self._shared.backend is not None:
            self._shared.backend.daemon = True
        try:
            self.warm()
            stopping.wait()
            if self._shared.control is not None:
                self._shared.control.stop()  # no new runs while the running ones wind down
            self.evaluations.scheduler().interrupt_all(DRAIN_TIMEOUT_S)
        finally:
            self.close()

    def close(self) -> None:
        """Stop what this engine started; safe to call twice (a no-op on owner views)."""
        if not self._owns_runtime:
            return
        if self._shared.control is not None:
            self._shared.control.stop()
            self._shared.control = None
        if self._shared.warming is not None:
            self._shared.warming.join()  # its actors must not outlive the runtime
            self._shared.warming = None
        clients = self._shared.clients
        loops = clients.pop("optimization-loops", None)
        if loops is not None:  # before the runs they wait on: they end `interrupted`
            loops.close()
        # The run scheduler and its workers go before the gateways they call: all at once,
        # a worker's last lease release reached a gateway already gone, and Ray printed that
        # to the driver's stdout (into `--json` output).
        scheduler = clients.pop("run-scheduler", None)
        if hasattr(scheduler, "close"):  # inline: the loop stops; Ray: the handles go
            with timings.phase("teardown: workers"):
                scheduler.close()
        del scheduler
        clients.pop("prompt-shards", None)
        if any(key.startswith("gateway:") for key in clients):
            import gc

            gc.collect()  # the dropped handles' actors are told to exit now
        clients.clear()
        self._shared.stack.close()
        self.runtime.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _db(self) -> Any:
        from domain.errors import ServiceUnavailableError

        db = self.runtime.db
        if db is None:
            raise ServiceUnavailableError("the engine's database is not started")
        return db

    def _serve_joiners(self) -> None:
        rt = self.runtime
        if not rt.owns_data_dir or rt.redis_url is None:
            return
        from engine.sdk.control import serve_joiners

        self._shared.control, self._shared.backend = serve_joiners(rt, lambda: self.evaluations)
        if rt.started_ray:  # a cold engine creates its pool beside the user's own set-up
            self._shared.warming = threading.Thread(
                target=self._warm_quietly, name="warm-pool", daemon=True
            )
            self._shared.warming.start()

    def _warm_quietly(self) -> None:
        from engine.logs import get_logger

        try:
            self.warm()
        except Exception as exc:  # the first evaluate() will meet (and report) it again
            get_logger(__name__).warning("actor pool not created", error=repr(exc))

    def _scheduler(self) -> Any:
        from engine.sdk.hosting import run_scheduler

        return run_scheduler(self.runtime, self.settings)

    def _hold_gateway(self, account: ProviderAccount) -> None:
        if self.runtime.executor != "ray":  # inline, the executor holds its gateways
            return
        from actors.provider_gateway import get_gateway

        redis_url = self.runtime.redis_url
        self._shared.client(f"gateway:{account.name}", lambda: get_gateway(account, redis_url))

    def _budgets(self) -> Any:
        from engine.llm import BudgetStore

        assert self.runtime.redis_url is not None
        return BudgetStore.from_url(self.runtime.redis_url)
