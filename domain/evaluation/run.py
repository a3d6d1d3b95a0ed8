"""A run: prompt version(s) × model(s) × dataset version × repeats, with seed and budget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.errors import ConflictError, ValidationError

MAX_REPEATS = 100
MAX_CELLS = 1_000_000
ROUTINGS = ("fixed", "cheapest", "lowest-latency")
"""How a run picks each cell's model: ``fixed`` calls every listed model; the others route
each call among the listed models (the cheapest, or the lowest observed latency)."""
MAX_CONCURRENCY = 4096
DEFAULT_CONCURRENCY = 64


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    BUDGET_EXCEEDED = "budget-exceeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Nobody is working the run any more (its process or services stopped); resumable."""

    def terminal(self) -> bool:
        """Whether the run has stopped (it may still be resumed unless completed)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.CANCELLED,
        RunStatus.BUDGET_EXCEEDED,
        RunStatus.FAILED,
        RunStatus.INTERRUPTED,
    }
)
# A stopped run (cancelled, over budget, failed, interrupted) may be resumed; a completed one
# may not. An interrupted run may also be finished by a scheduler that was still working it.
_ALLOWED = {
    RunStatus.PENDING: {
        RunStatus.RUNNING,
        RunStatus.CANCELLED,
        RunStatus.FAILED,
        RunStatus.INTERRUPTED,
    },
    RunStatus.RUNNING: set(RunStatus) - {RunStatus.PENDING},
    RunStatus.CANCELLED: {RunStatus.RUNNING},
    RunStatus.BUDGET_EXCEEDED: {RunStatus.RUNNING},
    RunStatus.FAILED: {RunStatus.RUNNING},
    RunStatus.INTERRUPTED: set(RunStatus) - {RunStatus.PENDING, RunStatus.INTERRUPTED},
    RunStatus.COMPLETED: set(),
}


def check_transition(current: RunStatus, target: RunStatus) -> None:
    """Raise ConflictError unless a run in `current` may move to `target`."""
    if target not in _ALLOWED[current]:
        raise ConflictError(
            f"run is {current.value}; it cannot become {target.value}",
            reason="invalid-run-transition",
            status=current.value,
        )


def check_budget(budget_usd: float) -> None:
    """Raise ValidationError unless ``budget_usd`` is a positive, finite amount."""
    if not (math.isfinite(budget_usd) and budget_usd > 0):
        raise ValidationError(
            f"budget must be a positive amount in USD, got {budget_usd}", reason="bad-budget"
        )


def check_concurrency(concurrency: int) -> None:
    """Raise ValidationError unless ``concurrency`` is within 1..`MAX_CONCURRENCY`."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValidationError(
            f"concurrency must be 1..{MAX_CONCURRENCY}, got {concurrency}", reason="bad-run"
        )


@dataclass(frozen=True)
class RunSpec:
    """Everything a run needs to be reproduced exactly, as plain values.

    Attributes:
        prompt_id: the prompt evaluated.
        prompt_versions: full version ids, in report order.
        models: LiteLLM model names.
        dataset_version_id: the immutable dataset version used.
        case_ids: ids of the cases, in dataset order.
        scorers: scorer records (`ScorerSpec.to_dict()`), rebuilt by the evaluators.
        repeats: how many times each cell is asked (repeat index is part of the cache key).
        seed: passed to the provider where supported and to any sampling we do.
        budget_usd: the run stops before a call that would exceed it; None = no cap.
        routing: one of `ROUTINGS`; a routed run has one group per prompt version (its
            cells' model is `routed_model`) and records the model each call used.
        concurrency: calls in flight at once, kept by a resume that names none.
        allow_code: whether code-running scorers (``python``, ``javascript``) may run; set
            only by the SDK and CLI for scorers their user supplied, never over HTTP.
    """

    prompt_id: str
    prompt_versions: tuple[str, ...]
    models: tuple[str, ...]
    dataset_version_id: str
    case_ids: tuple[str, ...]
    scorers: tuple[dict[str, Any], ...] = ()
    repeats: int = 1
    seed: int = 0
    budget_usd: float | None = None
    cache: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    routing: str = "fixed"
    concurrency: int = DEFAULT_CONCURRENCY
    allow_code: bool = False
    flow_pins: dict[str, dict[str, str]] = field(default_factory=dict)
    """For flow versions: version id → {llm step: the prompt version it calls}, resolved
    when the run started so a resume calls the same prompts even if a label moved."""

    def __post_init__(self) -> None:
        check_routing(self.routing)
        if not self.prompt_versions:
            raise ValidationError("a run needs at least one prompt version", reason="bad-run")
        if not self.models:
            raise ValidationError("a run needs at least one model", reason="bad-run")
        if not self.case_ids:
            raise ValidationError("dataset is empty", reason="empty-dataset")
        for name, values in (("prompt version", self.prompt_versions), ("model", self.models)):
            if len(set(values)) != len(values):
                raise ValidationError(f"duplicate {name} in run", reason="bad-run")
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise ValidationError(
                f"repeats must be between 1 and {MAX_REPEATS}, got {self.repeats}",
                reason="bad-run",
            )
        if self.budget_usd is not None:
            check_budget(self.budget_usd)
        check_concurrency(self.concurrency)
        if self.total_cells > MAX_CELLS:
            raise ValidationError(
                f"run has {self.total_cells} cells; the limit is {MAX_CELLS}", reason="bad-run"
            )

    @property
    def routed_model(self) -> str:
        """The model name of a routed run's cells, e.g. ``cheapest(openai/a|openai/b)``."""
        return f"{self.routing}({'|'.join(self.models)})"

    @property
    def cell_models(self) -> tuple[str, ...]:
        """The models cells are expanded over: the listed ones, or the routed one."""
        return self.models if self.routing == "fixed" else (self.routed_model,)

    @property
    def total_cells(self) -> int:
        per_model = len(self.prompt_versions) * len(self.case_ids) * self.repeats
        return per_model * len(self.cell_models)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_id": self.prompt_id,
            "prompt_versions": list(self.prompt_versions),
            "models": list(self.models),
            "dataset_version_id": self.dataset_version_id,
            "case_ids": list(self.case_ids),
            "scorers": [dict(s) for s in self.scorers],
            "repeats": self.repeats,
            "seed": self.seed,
            "budget_usd": self.budget_usd,
            "cache": self.cache,
            "params": dict(self.params),
            "routing": self.routing,
            "concurrency": self.concurrency,
            # Emitted only when set: a run without code keeps the record it always had.
            **({"allow_code": True} if self.allow_code else {}),
            **(
                {"flow_pins": {v: dict(p) for v, p in self.flow_pins.items()}}
                if self.flow_pins
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(
            prompt_id=data["prompt_id"],
            prompt_versions=tuple(data["prompt_versions"]),
            models=tuple(data["models"]),
            dataset_version_id=data["dataset_version_id"],
            case_ids=tuple(data["case_ids"]),
            scorers=tuple(data.get("scorers", ())),
            repeats=int(data.get("repeats", 1)),
            seed=int(data.get("seed", 0)),
            budget_usd=data.get("budget_usd"),
            cache=bool(data.get("cache", True)),
            params=dict(data.get("params", {})),
            routing=str(data.get("routing", "fixed")),
            concurrency=int(data.get("concurrency", DEFAULT_CONCURRENCY)),
            allow_code=data.get("allow_code") is True,
            flow_pins={str(v): dict(p) for v, p in dict(data.get("flow_pins") or {}).items()},
        )


def check_routing(routing: str) -> None:
    """Raise ValidationError unless ``routing`` is one of `ROUTINGS`."""
    if routing not in ROUTINGS:
        raise ValidationError(
            f"routing must be one of {', '.join(ROUTINGS)}, got {routing!r}",
            reason="bad-routing",
            field="routing",
        )
