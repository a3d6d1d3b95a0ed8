"""GEPA's reflective mutation and merge as a `Strategy`.

``ask`` shows the reflection model the parent's failing minibatch cases
(`domain.optimization.reflection`); ``propose`` turns its reply into a candidate; ``merge``
is the system-aware crossover of `domain.optimization.merge`. Options: ``max_examples``
(failing cases shown per request, default 8).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.optimization import merge as crossover
from domain.optimization import reflection
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, Messages, Proposal

_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def variables(template: str) -> set[str]:
    """The ``{{ variable }}`` names a template uses."""
    return set(_VARIABLE.findall(template))


@dataclass(frozen=True)
class Gepa:
    """Reflective prompt mutation: failing cases in, an edited prompt out."""

    max_examples: int = reflection.MAX_EXAMPLES
    name: str = "gepa"

    def ask(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        rng: random.Random,  # noqa: ARG002
    ) -> Messages | None:
        failing = reflection.failing(evidence)
        if not failing:
            return None
        return reflection.request(parent.content, failing, max_examples=self.max_examples)

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],  # noqa: ARG002
        reply: str | None,
        rng: random.Random,  # noqa: ARG002
    ) -> Proposal | None:
        parsed = reflection.parse_reply(reply)
        if parsed is None:
            return None
        template = parsed.template or parent.content.template
        # A template that drops or invents a variable would break every case: keep the old.
        if variables(template) != variables(parent.content.template):
            template = parent.content.template
        system = parent.content.system if parsed.system is None else parsed.system
        content = Content(system, template)
        if content == parent.content:
            return None
        return Proposal(content, parsed.rationale or f"reflection on {parent.id}'s failures")

    def merge(
        self,
        a: CandidateView,
        b: CandidateView,
        ancestor: CandidateView | None,
        rng: random.Random,
    ) -> Proposal | None:
        return crossover.merge(a, b, ancestor, rng)


def make(options: Mapping[str, Any]) -> Gepa:
    """A `Gepa` strategy; ``options["max_examples"]`` (1–32) bounds each request."""
    n = options.get("max_examples", reflection.MAX_EXAMPLES)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 32:
        raise ValidationError(
            "gepa option max_examples must be an integer in [1, 32]",
            reason="invalid-option",
            option="max_examples",
        )
    return Gepa(max_examples=n)
