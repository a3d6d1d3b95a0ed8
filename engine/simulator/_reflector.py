"""``sim-reflector``: proposes prompt edits from the failures a reflection request shows.

It reads only the request it is sent — ours (`domain.optimization.reflection`, replied to
with ``<system>``/``<rationale>`` tags), dspy.GEPA's own proposer (JSONAdapter sections
``[[ ## current_instruction ## ]]`` and ``[[ ## examples_with_feedback ## ]]``, replied to
with ``{"new_instruction": ...}``) or the ``gepa`` package's instruction-proposal template
(replied to with the instruction in ``` fences) — and compares each output with the
expected one its feedback shows (``Expected: ...``). What it can see, it names as a rule, in the
phrasings the simulated models understand (``_follow``):

- a chatty output around a short expected answer → ask for the bare answer;
- every expected number with N decimals → "Round numbers to exactly N decimal places.";
- a comma-grouped expected number → the thousands separator;
- every expected a number and a word → the unit symbol after the number;
- expected letters all in one case → that casing;
- every expected starting with the same ``Word: `` → start with that prefix;
- a wrong value (not just a wrong format) → "Double-check your answer before replying.".

A rule the current prompt already states is not added again. With nothing new to say it
replies with a rationale only (ours) or the unchanged instruction (DSPy's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from domain.optimization.reflection import TITLE, parse_request
from engine.simulator import _follow

JSON_INSTRUCTION = "[[ ## current_instruction ## ]]"
JSON_EXAMPLES = "[[ ## examples_with_feedback ## ]]"
DSPY_MARKER = "I provided an assistant with the following instructions"
_BARE_RULE = "Answer with only the final answer, nothing else."
_CARE_RULE = "Double-check your answer before replying."
_NOTHING = "The failures show no pattern the prompt does not already ask for."
_CAREFUL = re.compile(r"step by step|step-by-step|careful|\bthink|double-check", re.IGNORECASE)
_OUTPUTS = r"Generated Outputs?\s*\n(.*?)(?=^#+\s*Feedback|\Z)"
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _body(expected: str, prefix: str | None) -> str:
    return expected[len(prefix) :] if prefix and expected.startswith(prefix) else expected


def _value_right(output: str, expected: str) -> bool:
    """Whether ``output`` holds the expected value, whatever its format."""
    numbers = _NUM.findall(expected)
    if numbers:
        want = float(numbers[0].replace(",", ""))
        places = len(numbers[0].partition(".")[2])
        got = [float(n.replace(",", "")) for n in _NUM.findall(output) if n.strip("-,")]
        return any(round(g, places) == round(want, places) for g in got)
    words = re.findall(r"[a-z]+", expected.lower())
    return bool(words) and all(w in output.lower() for w in words)


def rules_for(system: str, pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """New rule sentences for ``system`` from (output, expected) pairs, and why each."""
    pairs = [(o, e.strip()) for o, e in pairs if e and e.strip()]
    if not pairs:
        return [], []
    said = _follow.stated(system)
    shown = _follow.demonstrated([e for _, e in pairs])
    bodies = [_body(e, shown.prefix) for _, e in pairs]
    rules: list[str] = []
    why: list[str] = []
    if shown.prefix and said.prefix != shown.prefix:
        rules.append(f'Start your answer with "{shown.prefix}".')
        why.append(f"every expected output starts with {shown.prefix!r}")
    chatty = [o for o, e in pairs if len(o.strip()) > len(e) and o.strip() != e]
    if shown.bare and chatty and not _follow.BARE.search(system):
        rules.append(_BARE_RULE)
        why.append("the outputs wrap the answer in sentences; the expected ones are bare")
    if shown.decimals is not None and said.decimals != shown.decimals:
        rules.append(f"Round numbers to exactly {shown.decimals} decimal places.")
        why.append(f"expected numbers have {shown.decimals} decimals")
    if shown.thousands and not said.thousands:
        rules.append("Use a comma as the thousands separator.")
        why.append("expected numbers group thousands with commas")
    if shown.unit and not said.unit:
        rules.append(f"Write the unit symbol after the number (for example: {bodies[0]}).")
        why.append("expected numbers are followed by a unit")
    letters = "".join(ch for b in bodies for ch in b if ch.isalpha())
    case = "lower" if letters.islower() else "upper" if letters.isupper() else None
    if case and not shown.unit and said.case != case:
        rules.append(f"Write the answer in {case}case.")
        why.append(f"expected outputs are in {case}case")
    wrong = any(not _value_right(o, b) for (o, _), b in zip(pairs, bodies, strict=True))
    if wrong and not _CAREFUL.search(system):
        rules.append(_CARE_RULE)
        why.append("some outputs have the wrong value, not only the wrong format")
    return rules, why


def _revised(system: str, rules: list[str]) -> str:
    return "\n".join(p for p in (system.strip(), *rules) if p)


def _ours(text: str) -> str | None:
    request = parse_request(text)
    if request is None:
        return None
    pairs = [(e.output, e.expected or "") for e in request.examples]
    rules, why = rules_for(request.system, pairs)
    if not rules:
        return f"<rationale>{_NOTHING}</rationale>"
    system = _revised(request.system, rules)
    return f"<system>\n{system}\n</system>\n<rationale>Added: {'; '.join(why)}.</rationale>"


def _dspy_pairs(examples: str) -> list[tuple[str, str]]:
    pairs = []
    for block in re.split(r"^#+\s*Example\b.*$", examples, flags=re.MULTILINE):
        expected = re.search(r"^\s*Expected:[ \t]*(.*)$", block, re.MULTILINE)
        if expected is None:
            continue
        outputs = re.search(_OUTPUTS, block, re.DOTALL | re.MULTILINE)
        text = outputs.group(1) if outputs else ""
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        pairs.append(("\n".join(lines).strip(), expected.group(1).strip()))
    return pairs


_AUTO = re.compile(r"^Given the fields .*, produce the fields .*\.$", re.DOTALL)


def _own(instruction: str) -> str:
    """DSPy's automatic instruction for an empty one counts as no instruction yet."""
    return "" if _AUTO.match(instruction.strip()) else instruction.strip()


def _fenced_reply(text: str) -> str:
    """The gepa package's template: instruction and examples in fences, reply in fences."""
    first = re.search(r"```[^\n]*\n(.*?)\n?```", text, re.DOTALL)
    given = first.group(1).strip() if first else ""
    current = _own(given)
    rules, _ = rules_for(current, _dspy_pairs(text[first.end() :] if first else text))
    return f"```\n{_revised(current, rules) or given}\n```"


def _json_pairs(raw: str) -> list[tuple[str, str]]:
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    pairs = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        outputs = item.get("Generated Outputs")
        output = " ".join(map(str, outputs.values())) if isinstance(outputs, dict) else str(outputs)
        expected = re.search(r"^\s*Expected:[ \t]*(.*)$", str(item.get("Feedback", "")), re.M)
        if expected is not None:
            pairs.append((output, expected.group(1).strip()))
    return pairs


def _json_reply(text: str) -> str:
    """dspy.GEPA's own proposer (JSONAdapter): sections in, ``{"new_instruction": ...}`` out."""
    m = re.search(
        rf"{re.escape(JSON_INSTRUCTION)}\n(.*?)\n\n{re.escape(JSON_EXAMPLES)}\n(.*?)(?:\n\n|$)",
        text,
        re.DOTALL,
    )
    given = m.group(1).strip() if m else ""
    current = _own(given)
    rules, _ = rules_for(current, _json_pairs(m.group(2)) if m else [])
    instruction = _revised(current, rules) or given or "Answer the question."
    return json.dumps({"new_instruction": instruction})


def reflect(prompt: str) -> str:
    """The reply of ``sim-reflector`` to ``prompt`` (system and user messages, joined)."""
    if JSON_EXAMPLES in prompt and JSON_INSTRUCTION in prompt:
        return _json_reply(prompt[prompt.rfind(JSON_INSTRUCTION) :])
    if DSPY_MARKER in prompt:
        return _fenced_reply(prompt)
    start = prompt.find(TITLE)
    reply = _ours(prompt[start:]) if start >= 0 else None
    if reply is None:
        return "<rationale>I can only revise prompts from a reflection request.</rationale>"
    return reply
