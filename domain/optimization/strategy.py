"""The seam between the optimization loop and its strategies.

The loop (``engine.optimization``) owns everything with a cost or a side effect: it picks
the parent (Pareto-based, `domain.optimization.selection`) and a seeded minibatch of
training cases, evaluates the parent on them (never twice for a candidate and case), sends
the strategy's reflection messages to the reflection model, commits the proposal as a
prompt version, evaluates it, and decides acceptance. A strategy only turns evidence into
a request and a reply into a proposal. Strategies are pure and deterministic for their
``rng``.

Each strategy lives in its own module of ``domain.optimization`` (`MODULES`) and exposes
``make(options) -> Strategy``; `load_strategy` finds it by name.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.errors import ValidationError

OPTIMIZERS: tuple[str, ...] = ("gepa", "fewshot", "random")
"""The optimizers a user may name."""

MODULES: dict[str, str] = {"gepa": "gepa", "fewshot": "fewshot", "random": "random_edits"}
"""The module of ``domain.optimization`` that holds each optimizer."""


@dataclass(frozen=True)
class Content:
    """What a candidate is: the prompt's system message and its user-message template.

    ``system`` is ``""`` when the prompt has none; ``template`` keeps its ``{{ variables }}``.
    """

    system: str
    template: str


@dataclass(frozen=True)
class CaseEvidence:
    """How one candidate did on one case: what the reflection request shows.

    Attributes:
        case_id: The test case id.
        variables: The case's template variables.
        expected: The case's expected output, if any.
        output: The model's text; ``None`` when the call failed.
        score: The overall score in [0, 1] (0 for an errored cell).
        passed: The scorers' verdict; ``None`` when errored or no scorer gives one.
        reasons: Why each scorer (judges included) that did not pass said so, by name.
        error: Why the cell failed, if it did.
    """

    case_id: str
    variables: Mapping[str, Any]
    expected: str | None
    output: str | None
    score: float
    passed: bool | None
    reasons: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class CandidateView:
    """A candidate as a strategy sees it.

    Attributes:
        id: The candidate id (``c0`` is the baseline).
        content: Its system message and template.
        parent_ids: The candidates it was derived from (empty for the baseline).
        val_scores: Case id → score on the validation split (empty until validated).
    """

    id: str
    content: Content
    parent_ids: tuple[str, ...] = ()
    val_scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A new candidate's content and why the strategy proposes it (the commit message)."""

    content: Content
    rationale: str


Messages = list[dict[str, str]]
"""Chat messages sent to the reflection model (``[{"role": ..., "content": ...}]``)."""


class Strategy(Protocol):
    """One optimizer over the shared loop.

    ``ask`` returns the messages for the reflection model, or ``None`` when the strategy
    proposes without one (``fewshot``, ``random``); the loop then calls ``propose`` with
    ``reply=None``. ``propose`` returns ``None`` when it has nothing new to offer (the loop
    records a skipped proposal and moves on). ``merge`` combines two front members that
    do not descend from one another; strategies without a merge return ``None``.
    """

    name: str

    def ask(
        self, parent: CandidateView, evidence: Sequence[CaseEvidence], rng: random.Random
    ) -> Messages | None: ...

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,
        rng: random.Random,
    ) -> Proposal | None: ...

    def merge(
        self,
        a: CandidateView,
        b: CandidateView,
        ancestor: CandidateView | None,
        rng: random.Random,
    ) -> Proposal | None: ...


def load_strategy(name: str, options: Mapping[str, Any] | None = None) -> Strategy:
    """The strategy called ``name``, made with ``options``.

    Raises:
        ValidationError: ``reason="unknown-optimizer"`` for a name not in `OPTIMIZERS`.
    """
    if name not in OPTIMIZERS:
        raise ValidationError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}",
            reason="unknown-optimizer",
            optimizer=name,
        )
    module = importlib.import_module(f"domain.optimization.{MODULES[name]}")
    strategy: Strategy = module.make(dict(options or {}))
    return strategy
