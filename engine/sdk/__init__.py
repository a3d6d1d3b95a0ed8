"""The public facade: `Engine` and the services it hands out, above the actors.

This is the only part of `engine` that talks to the actors; everything else in `engine` is
below them (stores, LLM client, streams, runtime) and knows nothing of Ray actors.
Imports stay light: Ray and LiteLLM load only when a call needs them.
"""

from __future__ import annotations

from engine.evaluation.datasets import DatasetInfo, Format, VersionInfo
from engine.evaluation.runs import CellFilters, CellKey, RunInfo, cell_key
from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion
from engine.sdk.engine import DEFAULT_OWNER, Engine
from engine.sdk.evaluations import owns_run
from engine.sdk.run import Run

__all__ = [
    "DEFAULT_OWNER",
    "CellFilters",
    "CellKey",
    "DatasetInfo",
    "Engine",
    "Format",
    "MergeOutcome",
    "PromptInfo",
    "PromptVersion",
    "Run",
    "RunInfo",
    "VersionInfo",
    "cell_key",
    "owns_run",
]
