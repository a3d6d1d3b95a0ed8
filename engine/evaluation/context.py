"""What an evaluator needs to work a run's cells, shipped once per run (by object ref)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.datasets import TestCase
from domain.evaluation import RunSpec
from domain.prompts import ModelSettings, Template


def account_keys(catalogue: Any, api_keys: Mapping[str, str]) -> dict[str, str]:
    """Stored provider keys (provider → key) as ``{env var: key}`` for the catalogue's accounts
    that need a key: an account that needs none (a local server) never sees one. Runs and
    playground turns read keys through this, before the process environment."""
    return {
        account.key_env_var: api_keys[account.provider]
        for account in catalogue.accounts
        if account.requires_api_key and account.provider in api_keys
    }


def with_keys(keys: Mapping[str, str]) -> dict[str, str] | None:
    """The environment LLM clients read keys from: the process's under ``keys`` (None: the
    process's own)."""
    return {**os.environ, **keys} if keys else None


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
    flows: dict[str, Any] = field(default_factory=dict)
    """Flow versions of the run: version id → `engine.evaluation.flow_runner.FlowPlan`
    (its tools, Python callables, travel cloudpickled like custom scorers)."""
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    """The owner's stored provider keys as ``{env var: key}`` for the accounts that need
    them; they override the process environment. Never recorded or logged."""
    traceparent: str | None = None
    """The run's span (W3C trace context) its cells' spans hang under, when tracing is on."""

    @property
    def client_key(self) -> str:
        """Which LLM client of an evaluator may serve this run: same catalogue, same keys."""
        if not self.api_keys:
            return self.catalogue_key
        digest = hashlib.sha256(repr(sorted(self.api_keys.items())).encode()).hexdigest()
        return f"{self.catalogue_key}:{digest[:16]}"

    def env(self) -> dict[str, str] | None:
        """The environment LLM clients of this run read keys from (None: the process's)."""
        return with_keys(self.api_keys)
