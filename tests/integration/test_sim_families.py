"""Instruction following and the task families, over real HTTP to the simulator."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from engine.simulator import Simulator
from engine.simulator._families import FAMILIES, Family

pytestmark = pytest.mark.integration
ORACLE = "sim-large"


def reply(sim: Simulator, messages: list[dict[str, str]], model: str = ORACLE) -> str:
    body = {"model": model, "messages": messages, "temperature": 0}
    response = httpx.post(f"{sim.api_base}/chat/completions", json=body, timeout=30)
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


def ask(sim: Simulator, system: str, user: str, model: str = ORACLE) -> str:
    return reply(
        sim, [{"role": "system", "content": system}, {"role": "user", "content": user}], model
    )


def render(family: Family, case: dict[str, Any]) -> str:
    return re.sub(
        r"\{\{\s*(\w+)\s*\}\}", lambda m: str(case["variables"][m.group(1)]), family.template
    )


def accuracy(sim: Simulator, family: Family, system: str, model: str, n: int = 100) -> float:
    cases = family.cases(n)
    return sum(ask(sim, system, render(family, c), model) == c["expected"] for c in cases) / n


def test_no_stated_rule_means_no_rule(simulator: Simulator) -> None:
    out = ask(simulator, "You are a helpful assistant.", "Convert 5 miles to kilometers.")
    assert "8.0467" in out and "km" not in out and out != "8.0467"


@pytest.mark.parametrize(
    ("system", "user", "expected"),
    [
        (
            "Answer with only the answer. Round to 2 decimal places.",
            "Convert 5 miles to km.",
            "8.05",
        ),
        ("Reply with only the result, using two decimals.", "Convert 5 miles to km.", "8.05"),
        (
            "Nothing else. Give 3 decimal digits and include the unit.",
            "Convert 5 miles to km.",
            "8.047 km",
        ),
        (
            "Just the number. Write the unit symbol after it.",
            "Convert 2 kg to pounds.",
            "4.4092 lb",
        ),
        (
            "Answer with only the number; use a comma as the thousands separator.",
            "What is 999 * 12?",
            "11,988",
        ),
        ("Only the number, group the digits by thousands.", "What is 1200 + 300?", "1,500"),
        (
            "Only the label, in lowercase.",
            "Classify into Billing or Shipping: my invoice",
            "billing",
        ),
        (
            "Only the label, ALL CAPS please.",
            "Classify into billing or shipping: my invoice",
            "BILLING",
        ),
        (
            'Only the label. Start your answer with "Category: ".',
            "Classify into billing or shipping: my package",
            "Category: shipping",
        ),
        (
            "Only the label. Begin with 'Label:'.",
            "Classify into billing or shipping: my package",
            "Label: shipping",
        ),
        (
            'Only the label, in the format "Topic: <label>".',
            "Classify into billing or shipping: my package",
            "Topic: shipping",
        ),
    ],
)
def test_stated_rules_in_canonical_and_natural_phrasings(
    simulator: Simulator, system: str, user: str, expected: str
) -> None:
    assert ask(simulator, system, user) == expected


def test_demonstrations_in_the_system_message_teach_the_format(simulator: Simulator) -> None:
    system = (
        "Examples of inputs and their expected outputs:\n\n"
        "Input: Convert 3 miles to kilometers.\nOutput: 4.83 km\n\n"
        "Input: Convert 10 pounds to kilograms.\nOutput: 4.54 kg"
    )
    assert ask(simulator, system, "Convert 2 feet to meters.") == "0.61 m"
    labels = "Output: Category: billing\nOutput: Category: account"
    user = "Classify into Billing, Account or Shipping: where is my package"
    assert ask(simulator, labels, user) == "Category: shipping"


def test_demonstrations_as_earlier_turns(simulator: Simulator) -> None:
    messages = [
        {"role": "user", "content": "What is 1000 + 1?"},
        {"role": "assistant", "content": "1,001"},
        {"role": "user", "content": "What is 2500 * 2?"},
    ]
    assert reply(simulator, messages) == "5,000"


def test_weaker_models_follow_stated_rules_less_often(simulator: Simulator) -> None:
    family = FAMILIES["conversion"]
    system = "Answer with only the answer. Round to 2 decimal places. Include the unit."

    def formatted(model: str) -> float:
        outs = [ask(simulator, system, render(family, c), model) for c in family.cases(30)]
        return sum(bool(re.fullmatch(r"-?\d+\.\d\d [a-z]+", o)) for o in outs) / len(outs)

    small, large = formatted("sim-small"), formatted("sim-large")
    assert small < large and small < 0.95 and large >= 0.95


def test_replies_stay_deterministic(simulator: Simulator) -> None:
    system = "Answer with only the answer. Round to 2 decimal places."
    outs = {ask(simulator, system, "Convert 7 miles to km.", "sim-small") for _ in range(3)}
    assert len(outs) == 1


def test_families_shape() -> None:
    assert len(FAMILIES) >= 3 and "arithmetic" in FAMILIES
    for name, family in FAMILIES.items():
        cases = family.cases(120, seed=1)
        assert family.name == name and len(cases) == 120
        assert len({repr(sorted(c["variables"].items())) for c in cases}) == 120
        assert family.cases(120, seed=1) == cases and family.cases(120, seed=2) != cases
        assert all(
            set(re.findall(r"\{\{\s*(\w+)", family.template)) == set(c["variables"]) for c in cases
        )
        assert family.scorers and len(family.rules) >= 2
        assert all(rule in family.optimum_system() for rule in family.rules)
        assert not any(rule in family.system for rule in family.rules)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_the_optimum_scores_far_above_the_baseline(simulator: Simulator, name: str) -> None:
    family = FAMILIES[name]
    baseline = accuracy(simulator, family, family.system, "sim-medium")
    optimum = accuracy(simulator, family, family.optimum_system(), "sim-medium")
    weak = accuracy(simulator, family, family.optimum_system(), "sim-small")
    assert baseline <= 0.1 and optimum >= 0.9 and optimum - baseline >= 0.8
    assert 0.4 <= weak < 1.0
