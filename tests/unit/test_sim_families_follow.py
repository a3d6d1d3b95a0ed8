"""Instruction following, pure: which rules a prompt states or demonstrates, and applying them."""

from __future__ import annotations

import random

import pytest

from engine.cli.demo_data import V1, V2, demo_cases
from engine.simulator import simulate_reply
from engine.simulator._convert import conversion
from engine.simulator._follow import Rules, apply, demonstrated, followed, stated


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("Round numbers to exactly 2 decimal places.", Rules(decimals=2)),
        ("Use three decimals.", Rules(decimals=3)),
        ("Use a comma as the thousands separator.", Rules(thousands=True)),
        ("Write the unit symbol after the number.", Rules(unit=True)),
        ("Write the answer in lowercase.", Rules(case="lower")),
        ("Reply in ALL CAPS.", Rules(case="upper")),
        ('Start your answer with "Category: ".', Rules(prefix="Category: ")),
        ("Prefix the reply with 'Label:'", Rules(prefix="Label: ")),
        ("Answer in the format 'Topic: <label>'.", Rules(prefix="Topic: ")),
        ("You are a helpful assistant. What is 12 + 7?", Rules()),
    ],
)
def test_stated_rules(text: str, rules: Rules) -> None:
    assert stated(text) == rules


def test_the_demo_prompts_state_no_new_rule() -> None:
    for text in (V1["template"], V2["template"], V2["system"]):
        assert not stated(text).any()
    assert not any(stated(c["vars"]["question"]).any() for c in demo_cases(50))


@pytest.mark.parametrize(
    ("outputs", "rules"),
    [
        (["19", "1,219", "-531"], Rules(bare=True, thousands=True)),
        (["4.83 km", "4.54 kg"], Rules(bare=True, decimals=2, unit=True)),
        (
            ["Category: billing", "Category: account"],
            Rules(bare=True, case="lower", prefix="Category: "),
        ),
        (["Sure! The answer is 19.", "19"], Rules()),
        ([], Rules()),
    ],
)
def test_demonstrated_rules(outputs: list[str], rules: Rules) -> None:
    assert demonstrated(outputs) == rules


def test_apply_in_order() -> None:
    rules = Rules(decimals=2, thousands=True, unit=True, case="lower", prefix="A: ")
    assert apply(rules, "12345.678", "convert", "km") == "A: 12,345.68 km"
    assert apply(Rules(case="lower", prefix="Category: "), "Billing", "classify", "") == (
        "Category: billing"
    )
    assert apply(Rules(case="lower"), "HELlo", "case", "") == "HELlo"  # a case task's mistake
    assert apply(Rules(decimals=2), "undefined", "arithmetic", "") == "undefined"


def test_followed_drops_rules_by_skill() -> None:
    rules = Rules(bare=True, decimals=2, thousands=True, unit=True, case="lower", prefix="X")
    assert followed(rules, 1.0, random.Random(0).random) == rules
    rng = random.Random(0)
    kept = [followed(rules, 0.2, rng.random) for _ in range(200)]
    share = sum(k.decimals == 2 for k in kept) / len(kept)
    assert 0.45 < share < 0.75  # 0.5 + 0.5 * 0.2 = 0.6


def test_conversion_task() -> None:
    task = conversion("Convert 5 miles to kilometers.")
    assert task is not None and (task.answer, task.unit) == ("8.0467", "km")
    assert conversion("Convert 2 kg to miles.") is None  # not the same dimension
    bare = "Answer with only the answer. Round to 2 decimal places. Include the unit."
    messages = [
        {"role": "system", "content": bare},
        {"role": "user", "content": "Convert 3 feet to meters."},
    ]
    assert simulate_reply("sim-large", messages, temperature=0) == "0.91 m"
