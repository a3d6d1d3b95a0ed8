"""BootstrapFewShot-like demonstrations as a `Strategy` (no reflection call).

Demonstrations are bootstrapped from the minibatch cases the parent passed (its own
outputs), falling back to the labelled expected outputs when none passed. Each proposal
draws a seeded subset of ``options["demos"]`` (default 3) of them, so generations search
over demo subsets, and writes them at the end of the system message, replacing any earlier
demonstrations, in this format (the simulated models read ``Output:`` lines as
demonstrations, see ``engine.simulator._follow``)::

    Examples of inputs and their expected outputs:

    Input: What is 12 + 7?
    Output: 19
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, Messages, Proposal

HEADING = "Examples of inputs and their expected outputs:"
_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
MAX_DEMO_CHARS = 500


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_DEMO_CHARS]


def render_input(template: str, variables: Mapping[str, Any]) -> str:
    """``template`` with its ``{{ variables }}`` filled in (unknown names left as written)."""
    return _VARIABLE.sub(lambda m: str(variables.get(m.group(1), m.group(0))), template)


def demonstrations(evidence: Sequence[CaseEvidence]) -> tuple[list[CaseEvidence], str]:
    """The demo pool: passing cases with outputs, else labelled ones; and which it is."""
    passing = [e for e in evidence if e.passed and e.output]
    if passing:
        return passing, "bootstrapped from passing cases"
    return [e for e in evidence if e.expected], "from labelled expected outputs"


def with_demos(system: str, template: str, demos: Sequence[tuple[Mapping[str, Any], str]]) -> str:
    """``system`` without earlier demonstrations, then ``demos`` in the documented format."""
    base = system.split(HEADING, 1)[0].rstrip()
    lines = [HEADING]
    for variables, output in demos:
        lines += ["", f"Input: {_one_line(render_input(template, variables))}"]
        lines.append(f"Output: {_one_line(output)}")
    return "\n\n".join(p for p in (base, "\n".join(lines)) if p)


def _shown(e: CaseEvidence) -> str:
    return e.output if e.passed and e.output else e.expected or ""


@dataclass(frozen=True)
class FewShot:
    """Seeded search over subsets of bootstrapped demonstrations."""

    demos: int = 3
    name: str = "fewshot"

    def ask(
        self,
        parent: CandidateView,  # noqa: ARG002
        evidence: Sequence[CaseEvidence],  # noqa: ARG002
        rng: random.Random,  # noqa: ARG002
    ) -> Messages | None:
        return None

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,  # noqa: ARG002
        rng: random.Random,
    ) -> Proposal | None:
        pool, source = demonstrations(evidence)
        if not pool:
            return None
        chosen = rng.sample(pool, min(self.demos, len(pool)))
        demos = [(e.variables, _shown(e)) for e in chosen]
        system = with_demos(parent.content.system, parent.content.template, demos)
        content = Content(system, parent.content.template)
        if content == parent.content:
            return None
        ids = ", ".join(e.case_id for e in chosen)
        return Proposal(content, f"{len(chosen)} demonstrations {source} ({ids})")

    def merge(
        self,
        a: CandidateView,  # noqa: ARG002
        b: CandidateView,  # noqa: ARG002
        ancestor: CandidateView | None,  # noqa: ARG002
        rng: random.Random,  # noqa: ARG002
    ) -> Proposal | None:
        return None


def make(options: Mapping[str, Any]) -> FewShot:
    """A `FewShot` strategy; ``options["demos"]`` (1–16, default 3) demos per candidate."""
    n = options.get("demos", 3)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 16:
        raise ValidationError(
            "fewshot option demos must be an integer in [1, 16]",
            reason="invalid-option",
            option="demos",
        )
    return FewShot(demos=n)
