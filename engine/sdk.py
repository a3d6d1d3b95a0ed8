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
import copy
import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.runtime import Runtime
from engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from domain.llm import Catalogue
    from domain.reports import Comparison
    from domain.scoring.listing import ScorerDescription
    from engine.evaluation.dataset_sdk import Datasets
    from engine.evaluation.run_handle import Run
    from engine.evaluation.service import Evaluations
    from engine.prompts import Prompts
    from engine.simulator import SimulatorConfig

DEFAULT_OWNER = "local"


class Engine:
    """One connection to AutoForge Nexus, with embedded services by default.

    Args:
        address: a Ray cluster address to join; `None` starts a local Ray (or uses
            `RAY_ADDRESS` from the environment).
        settings: explicit settings; read from the environment when omitted.
        owner: the user every call acts as (the API passes the authenticated user).
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
        simulator: bool | SimulatorConfig = False,
        **overrides: Any,
    ) -> None:
        if settings is None:
            if address is not None:
                overrides["ray_address"] = address
            settings = load_settings(**overrides)
        self.settings = settings
        self.owner = owner
        self._owns_runtime = True
        # Actor handles shared by every owner view: a named, non-detached actor dies with
        # its last handle, so they live as long as the engine does.
        self._shared: dict[str, Any] = {}
        self._shared_lock = threading.Lock()
        self._stack = contextlib.ExitStack()
        self.simulator: Any = None
        self.runtime = Runtime(settings).start()
        try:
            if simulator:
                from engine.simulator import SimulatorConfig, running_simulator

                config = simulator if isinstance(simulator, SimulatorConfig) else None
                self.simulator = self._stack.enter_context(
                    running_simulator(config or SimulatorConfig())
                )
        except BaseException:
            self.close()
            raise

    def as_owner(self, owner: str) -> Engine:
        """A view of this engine acting as `owner` (the API uses one per request user).

        The view shares the runtime, catalogue and actors; closing it closes nothing.
        """
        view = copy.copy(self)
        for name in ("prompts", "datasets", "evaluations"):
            view.__dict__.pop(name, None)
        view.owner = owner
        view._owns_runtime = False
        return view

    def shared(self, key: str, factory: Callable[[], Any]) -> Any:
        """A value (typically an actor handle) created once per engine, shared by views."""
        with self._shared_lock:
            if key not in self._shared:
                self._shared[key] = factory()
            return self._shared[key]

    @cached_property
    def catalogue(self) -> Catalogue:
        """Models and provider accounts this engine may call (file, defaults, simulator)."""
        from engine.llm import default_catalogue, load_catalogue

        if self.settings.catalogue_path is not None:
            return load_catalogue(self.settings.catalogue_path)
        return default_catalogue(self.simulator.api_base if self.simulator else None)

    def use_catalogue(self, catalogue: Catalogue) -> None:
        """Replace the catalogue (e.g. a simulator with rate limits) for later runs."""
        self.__dict__["catalogue"] = catalogue

    @cached_property
    def prompts(self) -> Prompts:
        """Prompt versioning: create, commit, log, diff, revert, branch, merge, label."""
        from engine.prompts import Prompts

        return Prompts.for_engine(self)

    @cached_property
    def datasets(self) -> Datasets:
        """Datasets: create, import JSONL/CSV as immutable versions, export."""
        from engine.evaluation.dataset_sdk import Datasets

        return Datasets(self.evaluations.datasets, self.owner)

    @cached_property
    def evaluations(self) -> Evaluations:
        """The evaluation service behind `evaluate`, `resume` and `run`."""
        from engine.evaluation.service import Evaluations

        return Evaluations(self)

    def evaluate(self, **kwargs: Any) -> Run:
        """Start a run of prompt version(s) × model(s) × dataset × repeats.

        Args:
            **kwargs: `prompt`, `dataset`, `models`, `scorers`, `versions` (refs, default
                `["main"]`), `repeats`, `budget` (USD), `seed`, `concurrency`, `cache`,
                `params`, `name`, `idempotency_key`, `api_keys` (provider → key, used before
                the environment's); see `Evaluations.evaluate`.

        Returns:
            A `Run`; call `run.wait()` to follow it with a progress bar.

        Raises:
            ValidationError: unknown prompt version or scorer, empty dataset, invalid regex
                or JSON schema, budget <= 0: all before any provider call.
        """
        return self.evaluations.evaluate(**kwargs)

    def scorers(self) -> list[ScorerDescription]:
        """The registered scorers a run may name, with their arguments (name, type, required,
        default, description)."""
        from domain.scoring.listing import describe_scorers

        return describe_scorers()

    def run(self, run_id: str) -> Run:
        """A handle on an existing run."""
        return self.evaluations.get(run_id)

    def resume(self, run_id: str, **kwargs: Any) -> Run:
        """Continue an interrupted or stopped run without re-calling recorded cells."""
        return self.evaluations.resume(run_id, **kwargs)

    def compare(self, run_a: Run | str, run_b: Run | str) -> Comparison:
        """Paired comparison of two runs on the same cases (McNemar + bootstrap)."""
        from engine.evaluation.run_handle import compare_runs

        a = run_a if not isinstance(run_a, str) else self.run(run_a)
        b = run_b if not isinstance(run_b, str) else self.run(run_b)
        return compare_runs(a, b)

    def close(self) -> None:
        """Stop what this engine started; safe to call twice (a no-op on owner views)."""
        if not self._owns_runtime:
            return
        self._shared.clear()
        self._stack.close()
        self.runtime.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
