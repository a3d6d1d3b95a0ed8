"""What an evaluator needs to work a run's cells, shipped once per run (by object ref)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.datasets import TestCase
from domain.evaluation import RunSpec
from domain.prompts import ModelSettings, Template


@dataclass(frozen=True)
class RunContext:
    """A run's templates, settings, cases and scorers, resolved once by the scheduler.

    Custom Python scorers travel here (cloudpickled by Ray); registered scorers are rebuilt
    from `spec.scorers`.
    """

    run_id: str
    owner: str
    spec: RunSpec
    templates: dict[str, Template]
    settings: dict[str, ModelSettings]
    cases: dict[str, TestCase]
    catalogue: Any
    catalogue_key: str
    custom_scorers: tuple[Any, ...] = field(default=())
    concurrency: int = 64
