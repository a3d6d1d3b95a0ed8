"""Bodies of `/v1/optimizations`: Pydantic at the HTTP edge, built from the SDK's values.

The request body is the keywords of `Engine.optimize` as JSON. Only shapes and sizes are
checked here: every rule with a `reason` (no scorer, split too small, unknown model or
optimizer, budget ≤ 0, …) is the SDK's, so a client gets the same `reason` over HTTP as
in Python, before any call.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import VERSION_ID, ScorerIn

OPTIMIZATION_ID = "opt_5d1e0c9b8a7f6e5d4c3b"
OptimizationStatusName = Literal[
    "pending", "running", "completed", "cancelled", "budget-exceeded", "failed", "interrupted"
]


class OptimizationIn(BaseModel):
    """Optimize a prompt on a dataset: propose, evaluate and keep better versions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prompt": "calculator",
                    "dataset": "arithmetic-cases",
                    "models": ["openai/sim-small"],
                    "scorers": ["equals"],
                    "optimizer": "gepa",
                    "reflection_model": "openai/sim-reflector",
                    "max_metric_calls": 300,
                    "budget": 0.5,
                    "split": [0.5, 0.25, 0.25],
                    "seed": 0,
                }
            ]
        }
    )

    prompt: str = Field(min_length=1, max_length=200)
    dataset: str = Field(min_length=1, max_length=200)
    models: list[str] = Field(min_length=1, max_length=16)
    scorers: list[str | ScorerIn] = Field(default_factory=list, max_length=32)
    optimizer: str = Field(default="gepa", max_length=64, description="gepa, fewshot or random.")
    reflection_model: str | None = Field(
        default=None,
        max_length=200,
        description="Proposes the edits; default `openai/sim-reflector` for simulated models.",
    )
    max_metric_calls: int = Field(
        default=500,
        description="Cap on candidate-evaluation cells + reflection calls + judge calls.",
    )
    budget: float | None = Field(default=None, allow_inf_nan=False, description="USD cap.")
    split: tuple[float, float, float] = Field(
        default=(0.5, 0.25, 0.25), description="Train, validation and test fractions."
    )
    minibatch: int = Field(default=8, ge=1, le=1000, description="Train cases per proposal.")
    seed: int = 0
    concurrency: int = Field(default=32, ge=1, le=4096, description="Calls in flight at once.")
    parallel: int | None = Field(
        default=None,
        ge=1,
        le=32,
        description="Candidates per generation; default from concurrency.",
    )
    base: str = Field(default="main", min_length=1, max_length=200, description="The baseline ref.")
    dataset_version: int | None = Field(default=None, ge=1, description="Default: latest.")
    name: str = Field(default="", max_length=200)
    options: dict[str, Any] | None = Field(
        default=None, description='Strategy options, e.g. `{"merge": true, "demos": 3}`.'
    )
    patience: int | None = Field(
        default=None, description="Stop after this many generations (>= 1) without a new best."
    )


class PromotedOut(BaseModel):
    """Where a promotion moved a label."""

    label: str
    version: str
    p_value: float | None
    at: str


class OptimizationOut(BaseModel):
    """An optimization: what it optimizes, how far it got, what it cost."""

    id: str = Field(examples=[OPTIMIZATION_ID])
    name: str
    status: OptimizationStatusName
    prompt_id: str
    prompt_name: str
    dataset_version_id: str
    optimizer: str
    models: list[str]
    reflection_model: str | None
    branch: str = Field(examples=[f"opt/{OPTIMIZATION_ID}"])
    baseline_version: str | None = Field(examples=[VERSION_ID])
    best_candidate: str | None = Field(examples=["c3"])
    best_version: str | None
    baseline_val_score: float | None
    best_val_score: float | None
    calls: int = Field(description="Metric calls used (evaluation cells, reflection, judges).")
    max_metric_calls: int
    reflection_calls: int
    judge_calls: int
    test_calls: int = Field(description="Test-split calls at the end, outside the cap.")
    cost_usd: float
    budget_usd: float | None
    candidates: int
    front_size: int
    generation: int
    created_at: str
    updated_at: str
    finished_at: str | None
    error: str | None
    promoted: PromotedOut | None
    config: dict[str, Any] = Field(description="Split, minibatch, seed, scorers, options, …")


class CandidateOut(BaseModel):
    """One candidate: a prompt version on the optimization's branch and its scores."""

    id: str = Field(examples=["c3"])
    version: str = Field(examples=[VERSION_ID])
    parent_ids: list[str]
    kind: Literal["baseline", "mutation", "merge"]
    rationale: str
    accepted: bool | None
    minibatch_score: float | None
    parent_minibatch_score: float | None
    val_score: float | None
    calls_at: int
    system: str
    template: str


class PromoteIn(BaseModel):
    """Move `label` to the best candidate if it beats the baseline on the test split."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "production"}]})

    label: str = Field(default="production", min_length=1, max_length=100)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="The McNemar test's level.")


class PromotionOut(BaseModel):
    """What a promotion did: moved the label, or why not."""

    promoted: bool
    label: str
    version: str | None
    p_value: float | None
    reason: str | None = Field(examples=["no significant improvement"])


class OptimizationReportOut(BaseModel):
    """The report data (`format=json`): trajectory, front, lineage, diff, test, cost."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["optimization"]
    optimization: dict[str, Any]
    trajectory: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    front: list[str]
    diff: dict[str, Any]
    test: dict[str, Any] | None
    cost: dict[str, Any]
