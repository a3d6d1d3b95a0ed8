"""What a simulated model replies: task solving, skill, mistakes and chatter.

Rules (all deterministic for the same model, messages, temperature, config seed and
request seed; randomness comes from ``random.Random`` seeded by a blake2b digest):

1. ``sim-judge`` given a prompt listing ``Allowed choices:`` picks one (see ``_graded``);
   given another prompt with an answer section it grades it (see ``_judge``).
2. Otherwise the LAST user message is matched, in this order, against: JSON extraction,
   sentiment, classification into offered labels, letter counting, reversing, upper/lower
   case, unit conversion, arithmetic. No match: a deterministic sentence built from the
   prompt's words.
3. Effective skill = the model's skill, +0.1 if a non-empty system message exists, +0.1 if
   the system or last user message asks for care ("step by step", "careful(ly)", "think",
   "double-check"), -0.1 per unit of temperature above 1; clipped to [0.05, 0.99] (widened
   to include the profile's own skill, so a test profile with skill 1.0 is always right).
   With that probability the answer is correct, otherwise one of the task's plausible
   mistakes (off-by-one number, wrong label, truncated/garbled text, invalid or altered JSON).
4. Format: if the system or last user message says "answer with only", "only the",
   "respond/reply/return with only", "just the", "nothing else", "no explanation",
   "one word" or "single word", the bare answer is sent; otherwise it is wrapped in chatter
   ("Sure! The answer is 42."). This bare-answer rule is always followed.
5. Output rules (``_follow``): decimals, thousands separators, a unit symbol, casing and a
   prefix apply only when the prompt states them or demonstrates them (demonstrations also
   teach the bare answer); each is followed with probability ``0.5 + 0.5 * skill`` (the
   effective skill of rule 3), drawn from a separate seeded stream, so a prompt asking for
   none of them gets exactly the reply it got before.
6. ``sim-reflector`` answers reflection requests with prompt edits (see ``_reflector``).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.simulator import _classify, _convert, _extract, _follow, _tasks
from engine.simulator._graded import grade, is_graded_prompt
from engine.simulator._judge import is_judge_prompt, judge
from engine.simulator._models import REFLECTOR, SIMULATED_MODELS, ModelProfile
from engine.simulator._reflector import reflect
from engine.simulator._tasks import Task

Recogniser = Callable[[str], Task | None]
RECOGNISERS: tuple[Recogniser, ...] = (
    _extract.extract_json,
    _classify.sentiment,
    _classify.classify,
    _tasks.count_letters,
    _tasks.reverse,
    _tasks.change_case,
    _convert.conversion,
    _tasks.arithmetic,
)
_BARE = _follow.BARE
_CAREFUL = re.compile(r"step by step|step-by-step|careful|\bthink|double-check", re.IGNORECASE)
_CHATTER = (
    "Sure! The answer is {a}.",
    "The answer is {a}.",
    "Of course. Here is the result: {a}",
    "Good question! It is {a}.",
)
_JSON_CHATTER = (
    "Here is the extracted data:\n```json\n{a}\n```",
    "Sure! Here is the JSON:\n{a}",
)
_STOP = frozenset(
    "what which with that this from have your about there their would could should please "
    "answer question tell give write make into only".split()
)


def text_of(content: Any) -> str:
    """Flatten OpenAI message content (a string or a list of parts) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _rng(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    temperature: float,
    seed: int,
    request_seed: int | None,
) -> random.Random:
    parts = [model, str(seed), str(request_seed), repr(float(temperature))]
    parts += [f"{m.get('role')}\x1f{text_of(m.get('content'))}" for m in messages]
    digest = hashlib.blake2b("\x1e".join(parts).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def effective_skill(profile: ModelProfile, system: str, user: str, temperature: float) -> float:
    """Apply the prompt bonuses and temperature penalty of rule 3 to ``profile.skill``."""
    skill = profile.skill
    if system.strip():
        skill += 0.1
    if _CAREFUL.search(system) or _CAREFUL.search(user):
        skill += 0.1
    skill -= 0.1 * max(0.0, temperature - 1.0)
    # Clip to [0.05, 0.99] so no model is perfect, unless its profile says exactly that.
    return min(max(0.99, profile.skill), max(min(0.05, profile.skill), skill))


def _fallback(user: str, rng: random.Random) -> str:
    words: list[str] = []
    for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", user):
        if w.lower() not in _STOP and w.lower() not in words:
            words.append(w.lower())
    if not words:
        return "I'm not sure what you are asking; could you give more detail?"
    topic = ", ".join(words[:3])
    opener = rng.choice(("Here is a short answer about", "Let me address", "Regarding"))
    rest = f" It also touches on {', '.join(words[3:6])}." if len(words) > 3 else ""
    return f"{opener} {topic}: it depends on the context, but {words[0]} matters most.{rest}"


def simulate_reply(
    model: str | ModelProfile,
    messages: Sequence[Mapping[str, Any]],
    *,
    temperature: float | None = None,
    seed: int = 0,
    request_seed: int | None = None,
) -> str:
    """Return what the simulated ``model`` answers to ``messages`` (pure and deterministic).

    Args:
        model: A name from ``SIMULATED_MODELS`` or a profile.
        messages: OpenAI-style chat messages.
        temperature: Sampling temperature (None means the OpenAI default, 1.0).
        seed: The simulator config seed.
        request_seed: The request's ``seed`` field.

    Returns:
        The assistant message content.

    Raises:
        KeyError: If ``model`` is an unknown name.

    Examples:
        >>> msgs = [{"role": "user", "content": "What is 2 + 3? Answer with only the number."}]
        >>> simulate_reply("sim-large", msgs) in {"5", "4", "6"}
        True
    """
    profile = SIMULATED_MODELS[model] if isinstance(model, str) else model
    temp = 1.0 if temperature is None else float(temperature)
    rng = _rng(profile.name, messages, temp, seed, request_seed)
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    user = users[-1] if users else ""
    if profile.name == REFLECTOR:
        return reflect("\n".join([system, *users]))
    if profile.name == "sim-judge":
        prompt = "\n".join([system, *users])
        if is_graded_prompt(prompt):
            return grade(prompt)
        if is_judge_prompt(prompt):
            return judge(prompt)
    task = next((t for r in RECOGNISERS if (t := r(user)) is not None), None)
    if task is None:
        return _fallback(user, rng)
    skill = effective_skill(profile, system, user, temp)
    correct = rng.random() < skill
    answer = task.answer if correct else rng.choice(task.mistakes)
    said = _follow.stated("\n".join([system, *users]))
    rules = _follow.combine(said, _follow.demonstrated(_follow.demonstrations(messages, text_of)))
    if rules.any():
        draws = _rng(f"{profile.name}\x1dfollow", messages, temp, seed, request_seed)
        rules = _follow.followed(rules, skill, draws.random)
        answer = _follow.apply(rules, answer, task.kind, task.unit)
    if _BARE.search(system) or _BARE.search(user) or rules.bare:
        return answer
    if task.kind == "json":
        return rng.choice(_JSON_CHATTER).format(a=answer)
    lead = "Let's think step by step. " if _CAREFUL.search(system + user) else ""
    return lead + rng.choice(_CHATTER).format(a=answer)
