"""Task families for optimization benchmarks: seeded cases whose expected outputs follow
hidden rules that a naive prompt does not state.

The simulated models never read this module: they follow a rule only when the prompt
states or demonstrates it (``_follow``), so an optimizer has to discover the rules from
the failures. `Family.optimum_system` states every rule (with a request for care); it
gives the known optimum a model can reach, for benchmarks only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.simulator._convert import UNITS, convert

BASELINE_SYSTEM = "You are a helpful assistant."
CARE = "Double-check your answer before replying."


@dataclass(frozen=True)
class Family:
    """One task family: a template, its naive baseline, its scorers and its hidden rules.

    Attributes:
        name: The family's key in `FAMILIES`.
        description: One line on the task and its hidden rules.
        template: The user-message template (``{{variables}}`` filled by each case).
        system: The naive baseline system message.
        scorers: Scorer specs as ``engine.evaluate`` takes them.
        rules: The hidden rules, one sentence each, as `optimum_system` states them.
    """

    name: str
    description: str
    template: str
    system: str
    scorers: tuple[Any, ...]
    rules: tuple[str, ...]
    make_case: Callable[[random.Random, int], dict[str, Any]]

    def cases(self, n: int = 120, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` dataset rows ``{"id", "variables", "expected"}``, seeded and distinct.

        Examples:
            >>> len(FAMILIES["arithmetic"].cases(100))
            100
        """
        rng = random.Random(f"{self.name}:{seed}")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        while len(rows) < n:
            row = self.make_case(rng, len(rows))
            key = repr(sorted(row["variables"].items()))
            if key not in seen:
                seen.add(key)
                rows.append({"id": f"{self.name}-{len(rows):03d}", **row})
        return rows

    def optimum_system(self) -> str:
        """A system message stating every hidden rule (benchmarks only)."""
        return "\n".join([BASELINE_SYSTEM, *self.rules, CARE])


def _arithmetic(rng: random.Random, _: int) -> dict[str, Any]:
    a, b = rng.randint(12, 999), rng.randint(12, 999)
    op, value = rng.choice((("+", a + b), ("-", a - b), ("*", a * b)))
    return {"variables": {"a": a, "op": op, "b": b}, "expected": f"{value:,}"}


_CONVERSIONS = (
    ("miles", "kilometers"),
    ("kilometers", "miles"),
    ("feet", "meters"),
    ("meters", "feet"),
    ("inches", "centimeters"),
    ("centimeters", "inches"),
    ("pounds", "kilograms"),
    ("kilograms", "pounds"),
    ("ounces", "grams"),
    ("grams", "ounces"),
)


def _conversion(rng: random.Random, _: int) -> dict[str, Any]:
    src, dst = rng.choice(_CONVERSIONS)
    value = rng.choice((rng.randint(1, 500), round(rng.uniform(0.5, 250.0), 1)))
    result = convert(float(value), src, dst)
    expected = f"{result:.2f} {UNITS[dst][1]}"
    return {"variables": {"value": value, "unit": src, "target": dst}, "expected": expected}


_TICKETS = {
    "billing": (
        "I was charged twice for my subscription",
        "the invoice shows the wrong price",
        "I want a refund for last month's payment",
        "my bill is higher than expected",
        "the payment failed but I was still charged",
        "why did the price of my subscription go up",
    ),
    "technical": (
        "the app crashes every time I open it",
        "I get an error on the login page",
        "the install fails with a bug report",
        "the server is very slow today",
        "my password reset shows an error",
        "the export button is broken",
    ),
    "account": (
        "I cannot change my username",
        "please delete my account",
        "how do I update the email on my profile",
        "the settings page will not save my profile",
        "I need help with the signup form",
        "I want to sign in with a different email",
    ),
    "shipping": (
        "my package has not arrived",
        "the tracking number does not work",
        "the courier left my package at the wrong door",
        "when will the delivery come",
        "it was shipped a week ago and never arrived",
        "what are the shipping costs to Canada",
    ),
}
_OPENERS = ("Hi,", "Hello team,", "Good morning,", "Dear support,", "Hey there,", "")
_CLOSERS = ("Please help.", "Any advice?", "Regards, Sam.", "Thank you.", "")


def _ticket(rng: random.Random, _: int) -> dict[str, Any]:
    label = rng.choice(sorted(_TICKETS))
    parts = (rng.choice(_OPENERS), rng.choice(_TICKETS[label]) + ".", rng.choice(_CLOSERS))
    ticket = " ".join(p for p in parts if p)
    return {"variables": {"ticket": ticket}, "expected": f"Category: {label}"}


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            name="arithmetic",
            description="The demo's arithmetic questions; bare numbers, thousands grouped.",
            template="What is {{a}} {{op}} {{b}}?",
            system=BASELINE_SYSTEM,
            scorers=("equals",),
            rules=(
                "Answer with only the final answer, nothing else.",
                "Use a comma as the thousands separator.",
            ),
            make_case=_arithmetic,
        ),
        Family(
            name="conversion",
            description="Unit conversions; bare, exactly two decimals, then the unit symbol.",
            template="Convert {{value}} {{unit}} to {{target}}.",
            system=BASELINE_SYSTEM,
            scorers=("equals",),
            rules=(
                "Answer with only the final answer, nothing else.",
                "Round numbers to exactly 2 decimal places.",
                "Write the unit symbol after the number (for example: 8.05 km).",
            ),
            make_case=_conversion,
        ),
        Family(
            name="classification",
            description="Support tickets; a lowercase label after the prefix 'Category: '.",
            template=(
                "Classify this support ticket into Billing, Technical, Account or Shipping: "
                "{{ticket}}"
            ),
            system=BASELINE_SYSTEM,
            scorers=("equals",),
            rules=(
                "Answer with only the final answer, nothing else.",
                'Start your answer with "Category: ".',
                "Write the answer in lowercase.",
            ),
            make_case=_ticket,
        ),
    )
}
"""Every task family by name."""
