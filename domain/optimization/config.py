"""An optimization's configuration, validated before anything is stored or called, and the
seeded split of a dataset version's cases into train / validation / test."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ValidationError
from domain.optimization.strategy import OPTIMIZERS

MAX_PARALLEL = 32
"""Most candidates a generation proposes and evaluates at once."""
MIN_SPLIT_CASES = 2
"""Fewest cases each split must hold."""


@dataclass(frozen=True)
class OptimizationConfig:
    """Everything an optimization needs to be replayed exactly, as plain values.

    Attributes:
        prompt_id: The prompt optimized.
        prompt_name: Its name when the optimization started.
        dataset_version_id: The immutable dataset version whose cases are split.
        optimizer: One of `OPTIMIZERS`.
        models: The models every candidate is evaluated on (scores are averaged).
        reflection_model: The model the strategy's reflection requests go to.
        scorers: Scorer records (`ScorerSpec.to_dict()`); at least one.
        max_metric_calls: Most candidate cells + reflection calls + judge calls.
        budget_usd: A cap in USD over the same calls; None = no cap.
        split: (train, validation, test) fractions summing to 1.
        minibatch: Training cases a proposal is judged on.
        seed: Seeds the split, the parents, the minibatches and the strategy.
        concurrency: Calls in flight at once within each evaluation run.
        parallel: Candidates per generation (K).
        base: The ref the optimization starts from.
        options: The strategy's options.
        patience: Generations without a new best before stopping; None = no limit.
        allow_code: Its runs may execute code assertions (``python``/``javascript``): set
            only by the SDK and CLI, whose user supplied them; never over HTTP.
    """

    prompt_id: str
    prompt_name: str
    dataset_version_id: str
    optimizer: str
    models: tuple[str, ...]
    reflection_model: str | None
    scorers: tuple[dict[str, Any], ...]
    max_metric_calls: int = 500
    budget_usd: float | None = None
    split: tuple[float, float, float] = (0.5, 0.25, 0.25)
    minibatch: int = 8
    seed: int = 0
    concurrency: int = 32
    parallel: int = 1
    base: str = "main"
    options: dict[str, Any] = field(default_factory=dict)
    patience: int | None = None
    allow_code: bool = False

    def __post_init__(self) -> None:
        check_config(self)

    def to_dict(self) -> dict[str, Any]:
        record = {
            "prompt_id": self.prompt_id,
            "prompt_name": self.prompt_name,
            "dataset_version_id": self.dataset_version_id,
            "optimizer": self.optimizer,
            "models": list(self.models),
            "reflection_model": self.reflection_model,
            "scorers": [dict(s) for s in self.scorers],
            "max_metric_calls": self.max_metric_calls,
            "budget_usd": self.budget_usd,
            "split": list(self.split),
            "minibatch": self.minibatch,
            "seed": self.seed,
            "concurrency": self.concurrency,
            "parallel": self.parallel,
            "base": self.base,
            "options": dict(self.options),
            "patience": self.patience,
        }
        if self.allow_code:  # only when set: older records read the same
            record["allow_code"] = True
        return record

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OptimizationConfig:
        split = tuple(float(f) for f in data["split"])
        return cls(
            prompt_id=data["prompt_id"],
            prompt_name=data["prompt_name"],
            dataset_version_id=data["dataset_version_id"],
            optimizer=data["optimizer"],
            models=tuple(data["models"]),
            reflection_model=data.get("reflection_model"),
            scorers=tuple(dict(s) for s in data["scorers"]),
            max_metric_calls=int(data["max_metric_calls"]),
            budget_usd=data.get("budget_usd"),
            split=(split[0], split[1], split[2]),
            minibatch=int(data["minibatch"]),
            seed=int(data["seed"]),
            concurrency=int(data["concurrency"]),
            parallel=int(data["parallel"]),
            base=data.get("base", "main"),
            options=dict(data.get("options") or {}),
            patience=data.get("patience"),
            allow_code=bool(data.get("allow_code", False)),
        )


def default_parallel(concurrency: int, minibatch: int, *, reflection: bool = False) -> int:
    """K when the user names none, at most `MAX_PARALLEL`: enough slots that a generation's
    narrowest step fills the ``concurrency``. With a reflection model that is the
    reflection step (one call per slot: K = concurrency; at K = 4 and C = 32 a gepa run
    at 100 ms spent most of its wall time waiting on 4 reflection calls at a time); without
    one, the minibatch steps (K × ``minibatch`` cells: K = concurrency ÷ minibatch).

    Examples:
        >>> default_parallel(32, 8, reflection=True), default_parallel(32, 8)
        (32, 4)
        >>> default_parallel(4, 8), default_parallel(512, 8)
        (1, 32)
    """
    slots = concurrency if reflection else concurrency // max(1, minibatch)
    return max(1, min(MAX_PARALLEL, slots))


def check_budget(budget: float | None) -> None:
    """Raises ``ValidationError(reason="invalid-budget")`` unless None or a positive amount."""
    if budget is None:
        return
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        raise ValidationError("budget must be an amount in USD", reason="invalid-budget")
    if not math.isfinite(budget) or budget <= 0:
        raise ValidationError(
            f"budget must be a positive amount in USD, got {budget}",
            reason="invalid-budget",
            budget=budget,
        )


def check_config(config: OptimizationConfig) -> None:
    """Raises `ValidationError` with a stable ``reason`` for a config nobody could run."""
    if config.optimizer not in OPTIMIZERS:
        raise ValidationError(
            f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}",
            reason="unknown-optimizer",
            optimizer=config.optimizer,
        )
    if not config.scorers:
        raise ValidationError(
            "an optimization needs at least one scorer to tell better from worse",
            reason="no-scorer",
        )
    if not config.models:
        raise ValidationError("an optimization needs at least one model", reason="unknown-model")
    check_budget(config.budget_usd)
    calls = config.max_metric_calls
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        raise ValidationError(
            f"max_metric_calls must be a whole number >= 1, got {calls!r}",
            reason="invalid-max-metric-calls",
        )
    check_split_fractions(config.split)
    if config.minibatch < 1:
        raise ValidationError(
            f"minibatch must be >= 1, got {config.minibatch}", reason="invalid-minibatch"
        )
    if not 1 <= config.parallel <= MAX_PARALLEL:
        raise ValidationError(
            f"parallel must be 1..{MAX_PARALLEL}, got {config.parallel}", reason="invalid-parallel"
        )
    if config.patience is not None and config.patience < 1:
        raise ValidationError(
            f"patience must be >= 1, got {config.patience}", reason="invalid-patience"
        )


def check_split_fractions(split: Sequence[float]) -> None:
    """Raises ``reason="split-too-small"`` unless three non-negative fractions sum to 1."""
    if len(split) != 3 or any(not isinstance(f, int | float) or f < 0 for f in split):
        raise ValidationError(
            "split must be three fractions (train, validation, test)",
            reason="split-too-small",
            split=list(split),
        )
    if abs(sum(split) - 1.0) > 1e-6:
        raise ValidationError(
            f"split fractions must sum to 1, got {sum(split):g}",
            reason="split-too-small",
            split=list(split),
        )


@dataclass(frozen=True)
class Split:
    """Case ids of the three splits, each in dataset order."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {"train": list(self.train), "val": list(self.val), "test": list(self.test)}


def split_cases(case_ids: Sequence[str], split: Sequence[float], seed: int) -> Split:
    """Shuffle ``case_ids`` with ``seed`` and cut them by the ``split`` fractions.

    Raises:
        ValidationError: ``reason="split-too-small"`` when a split would hold fewer than
            two cases (or the fractions are not valid).

    Examples:
        >>> s = split_cases([f"c{i}" for i in range(8)], (0.5, 0.25, 0.25), seed=1)
        >>> len(s.train), len(s.val), len(s.test)
        (4, 2, 2)
    """
    check_split_fractions(split)
    ids = list(dict.fromkeys(case_ids))
    n = len(ids)
    n_train = int(round(n * split[0]))
    n_val = int(round(n * split[1]))
    n_test = n - n_train - n_val
    if min(n_train, n_val, n_test) < MIN_SPLIT_CASES:
        raise ValidationError(
            f"{n} cases split {tuple(split)} gives {n_train}/{n_val}/{n_test} cases; "
            f"each split needs at least {MIN_SPLIT_CASES}",
            reason="split-too-small",
            cases=n,
            split=list(split),
        )
    shuffled = list(ids)
    random.Random(f"split:{seed}").shuffle(shuffled)
    position = {case_id: i for i, case_id in enumerate(ids)}

    def ordered(part: list[str]) -> tuple[str, ...]:
        return tuple(sorted(part, key=position.__getitem__))

    return Split(
        train=ordered(shuffled[:n_train]),
        val=ordered(shuffled[n_train : n_train + n_val]),
        test=ordered(shuffled[n_train + n_val :]),
    )
