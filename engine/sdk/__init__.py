"""The public facade: `Engine` and the services it hands out, above the actors.

This is the only part of `engine` that talks to the actors; everything else in `engine` is
below them (stores, LLM client, streams, runtime) and knows nothing of Ray actors.

Imports stay light: a name loads its module on first use, so a command that only reads the
database (`engine.sdk.prompts`) never imports Redis, Ray or LiteLLM.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.evaluation.datasets import DatasetInfo, Format, VersionInfo
    from engine.evaluation.runs import CellFilters, CellKey, RunInfo, cell_key
    from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion
    from engine.sdk.engine import DEFAULT_OWNER, Engine
    from engine.sdk.evaluations import owns_run
    from engine.sdk.flows import FlowDiff, Flows, FlowVersion
    from engine.sdk.optimizations import (
        CandidateInfo,
        Optimization,
        OptimizationInfo,
        owns_optimization,
    )
    from engine.sdk.queues import AnnotationQueue, Queues
    from engine.sdk.run import Run
    from engine.sdk.workspaces import Workspaces

_HOMES = {
    "DEFAULT_OWNER": "engine.sdk.engine",
    "Engine": "engine.sdk.engine",
    "CellFilters": "engine.evaluation.runs",
    "CellKey": "engine.evaluation.runs",
    "RunInfo": "engine.evaluation.runs",
    "cell_key": "engine.evaluation.runs",
    "DatasetInfo": "engine.evaluation.datasets",
    "Format": "engine.evaluation.datasets",
    "VersionInfo": "engine.evaluation.datasets",
    "MergeOutcome": "engine.prompts.models",
    "PromptInfo": "engine.prompts.models",
    "PromptVersion": "engine.prompts.models",
    "owns_run": "engine.sdk.evaluations",
    "FlowDiff": "engine.sdk.flows",
    "FlowVersion": "engine.sdk.flows",
    "Flows": "engine.sdk.flows",
    "Run": "engine.sdk.run",
    "AnnotationQueue": "engine.sdk.queues",
    "Queues": "engine.sdk.queues",
    "CandidateInfo": "engine.sdk.optimizations",
    "Optimization": "engine.sdk.optimizations",
    "OptimizationInfo": "engine.sdk.optimizations",
    "owns_optimization": "engine.sdk.optimizations",
    "Workspaces": "engine.sdk.workspaces",
}

__all__ = [
    "DEFAULT_OWNER",
    "AnnotationQueue",
    "CandidateInfo",
    "CellFilters",
    "CellKey",
    "DatasetInfo",
    "Engine",
    "FlowDiff",
    "FlowVersion",
    "Flows",
    "Format",
    "MergeOutcome",
    "Optimization",
    "OptimizationInfo",
    "PromptInfo",
    "PromptVersion",
    "Queues",
    "Run",
    "RunInfo",
    "VersionInfo",
    "Workspaces",
    "cell_key",
    "owns_optimization",
    "owns_run",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine.sdk' has no attribute {name!r}")
