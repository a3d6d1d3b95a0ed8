"""The demo's data: a seeded 50-case dataset and two prompt versions that differ for real.

Version 1 asks plainly; version 2 adds a system prompt and asks for the bare answer. The
simulated models are more accurate with the second for the reasons a real model would be
(see `engine.simulator`), so the comparison shows a genuine, testable difference.
"""

from __future__ import annotations

import random
from typing import Any

POSITIVE = (
    "I love this phone, the camera is excellent",
    "Great service and a lovely room",
    "The food was amazing and the staff were wonderful",
    "Perfect fit, I recommend it",
    "What a fantastic concert, I enjoyed every minute",
)
NEGATIVE = (
    "The package arrived broken and support was rude",
    "Terrible battery, a waste of money",
    "I hate the new update, it is slow and annoying",
    "Worst hotel ever, dirty and awful",
    "The course was boring and disappointing",
)

PROMPT_NAME = "qa-assistant"
V1 = {"template": "{{question}}", "message": "First draft: pass the question through"}
V2 = {
    "system": "You are a careful assistant. Think step by step, then answer.",
    "template": "{{question}}\nAnswer with only the final answer, nothing else.",
    "message": "Add a system prompt and ask for the bare answer",
}
MODELS = ("openai/sim-small", "openai/sim-large")
SCORERS: tuple[dict[str, Any], ...] = (
    {"type": "icontains", "name": "correct"},
    {"type": "regex", "name": "concise", "args": {"pattern": r"^\S+$"}, "weight": 0.0},
)


def demo_cases(n: int = 50, seed: int = 7) -> list[dict[str, Any]]:
    """`n` cases: arithmetic with exact answers, and sentiment with a known label."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    for i in range(n):
        if i % 5 == 4:
            label = rng.choice(("positive", "negative"))
            text = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            question = f"Classify the sentiment as positive or negative: {text}"
            cases.append(
                {
                    "id": f"case-{i:02d}",
                    "vars": {"question": question},
                    "expected": label,
                    "tags": ["sentiment"],
                }
            )
        else:
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            op, answer = rng.choice((("+", a + b), ("-", a - b), ("*", a * b)))
            cases.append(
                {
                    "id": f"case-{i:02d}",
                    "vars": {"question": f"What is {a} {op} {b}?"},
                    "expected": str(answer),
                    "tags": ["arithmetic"],
                }
            )
    return cases
