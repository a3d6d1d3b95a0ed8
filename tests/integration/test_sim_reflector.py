"""``sim-reflector`` over real HTTP: our reflection request, dspy.GEPA's and gepa's."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from domain.optimization import reflection
from domain.optimization.gepa import make
from domain.optimization.strategy import CandidateView, CaseEvidence, Content
from engine.simulator import Simulator

pytestmark = pytest.mark.integration
PARENT = CandidateView("c0", Content("You are a helpful assistant.", "Convert {{v}} miles to km."))


def reply(sim: Simulator, messages: list[dict[str, str]]) -> str:
    body = {"model": "sim-reflector", "messages": messages, "temperature": 0}
    response = httpx.post(f"{sim.api_base}/chat/completions", json=body, timeout=30)
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


def failed(i: int, output: str, expected: str) -> CaseEvidence:
    return CaseEvidence(f"c{i}", {"v": i}, expected, output, 0.0, False, {"equals": "differs"})


def test_listed_in_the_catalogue(simulator: Simulator) -> None:
    ids = {m["id"] for m in httpx.get(f"{simulator.api_base}/models").json()["data"]}
    assert "sim-reflector" in ids


def test_names_the_rules_it_sees_in_the_failures(simulator: Simulator) -> None:
    evidence = [
        failed(5, "Sure! The answer is 8.0467.", "8.05 km"),
        failed(2, "The answer is 3.2187.", "3.22 km"),
    ]
    gepa = make({})
    messages = gepa.ask(PARENT, evidence, random.Random(0))
    assert messages is not None
    text = reply(simulator, messages)
    proposal = gepa.propose(PARENT, evidence, text, random.Random(0))
    assert proposal is not None
    lines = proposal.content.system.splitlines()
    assert lines[0] == "You are a helpful assistant."
    assert "Answer with only the final answer, nothing else." in lines
    assert "Round numbers to exactly 2 decimal places." in lines
    assert any(line.startswith("Write the unit symbol after the number") for line in lines)
    assert not any("Double-check" in line for line in lines)  # the values were right
    assert proposal.rationale.startswith("Added:")


def test_reads_only_the_request(simulator: Simulator) -> None:
    evidence = [
        failed(1, "Sure! It is Billing.", "LABEL: BILLING"),
        failed(2, "It is Account.", "LABEL: SHIPPING"),
    ]
    messages = reflection.request(Content("", "{{ticket}}"), evidence)
    parsed = reflection.parse_reply(reply(simulator, messages))
    assert parsed is not None and parsed.system is not None
    assert parsed.system.splitlines() == [
        'Start your answer with "LABEL: ".',
        "Answer with only the final answer, nothing else.",
        "Write the answer in uppercase.",
        "Double-check your answer before replying.",
    ]


def test_nothing_new_to_say_is_no_proposal(simulator: Simulator) -> None:
    system = "Answer with only the final answer, nothing else. Double-check your answer."
    evidence = [failed(1, "41", "42")]
    text = reply(simulator, reflection.request(Content(system, "{{q}}"), evidence))
    assert reflection.parse_reply(text) is None and "<rationale>" in text
    other = reply(simulator, [{"role": "user", "content": "What is 2 + 2?"}])
    assert reflection.parse_reply(other) is None


DSPY_SYSTEM = (
    "Your input fields are:\n1. `current_instruction` (str): The instructions I provided to the "
    "assistant.\n2. `examples_with_feedback` (list[dict[str, Any]]): Task inputs...\nYour output "
    "fields are:\n1. `new_instruction` (str): The new instruction for the assistant.\n"
    "All interactions will be structured in the following way, with the appropriate values "
    "filled in.\n\nInputs will have the following structure:\n\n[[ ## current_instruction ## ]]"
    "\n{current_instruction}\n\n[[ ## examples_with_feedback ## ]]\n{examples_with_feedback}\n\n"
    'Outputs will be a JSON object with the following fields.\n\n{\n  "new_instruction": '
    '"{new_instruction}"\n}\nIn adhering to this structure, your objective is: \n        '
    "I provided an assistant with instructions to perform a task for me."
)


def dspy_user(instruction: str, examples: list[dict[str, object]]) -> str:
    return (
        f"[[ ## current_instruction ## ]]\n{instruction}\n\n[[ ## examples_with_feedback ## ]]\n"
        f"{json.dumps(examples, ensure_ascii=False)}\n\n"
        "Respond with a JSON object in the following order of fields: `new_instruction`."
    )


def test_answers_dspy_gepa_s_json_proposer(simulator: Simulator) -> None:
    examples = [
        {
            "Inputs": {"a": "17", "op": "*", "b": "250"},
            "Generated Outputs": {"answer": "Sure! The answer is 4250."},
            "Feedback": "Expected: 4,250\nScore: 0.0",
        },
        {
            "Inputs": {"a": "3", "op": "+", "b": "3"},
            "Generated Outputs": {"answer": "6"},
            "Feedback": "Expected: 6\nScore: 1.0",
        },
    ]
    auto = "Given the fields `a`, `op`, `b`, produce the fields `answer`."
    user = dspy_user(auto, examples)
    messages = [{"role": "system", "content": DSPY_SYSTEM}, {"role": "user", "content": user}]
    instruction = json.loads(reply(simulator, messages))["new_instruction"]
    assert instruction.splitlines() == [
        "Answer with only the final answer, nothing else.",
        "Use a comma as the thousands separator.",
    ]
    done = [
        {"Inputs": {}, "Generated Outputs": {"answer": "6"}, "Feedback": "Expected: 6\nScore: 1.0"}
    ]
    messages[1] = {"role": "user", "content": dspy_user(auto, done)}
    assert json.loads(reply(simulator, messages)) == {"new_instruction": auto}


def test_answers_the_gepa_package_template(simulator: Simulator) -> None:
    side = (
        "# Example 1\n## Inputs\n### value\n5\n\n## Generated Outputs\n### answer\n"
        "The answer is 8.0467.\n\n## Feedback\nExpected: 8.05 km\nScore: 0.0\n\n"
    )
    prompt = (
        "I provided an assistant with the following instructions to perform a task for me:\n"
        "```\nConvert the units.\n```\n\nThe following are examples of different task inputs "
        "provided to the assistant along with the assistant's response for each of them, and "
        f"some feedback on how the assistant's response could be better:\n```\n{side}```\n\n"
        "Your task is to write a new instruction for the assistant.\n\n"
        "Provide the new instructions within ``` blocks."
    )
    text = reply(simulator, [{"role": "user", "content": prompt}])
    assert text.startswith("```\nConvert the units.\n") and text.endswith("\n```")
    body = text.strip("`\n").splitlines()
    assert "Round numbers to exactly 2 decimal places." in body
    assert "Answer with only the final answer, nothing else." in body
