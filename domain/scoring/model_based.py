"""Scorers that need a model call, split into a pure request half and a pure parse half.

The evaluator makes the call through the provider gateway in between, so these stay pure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from domain.errors import ValidationError
from domain.scoring._common import VALUE, BaseScorer, ReferenceScorer, ScorerArgs, clip
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument

JUDGE_RESPONSE_FORMAT = (
    "Reply with only a JSON object, nothing else:\n"
    '{"score": <a number from 0 to 1>, "reason": "<one sentence explaining the score>"}'
)
"""The reply a judge model is asked for (``sim-judge`` answers in this shape)."""

JUDGE_SYSTEM_PROMPT = (
    "You are an impartial grader of answers written by an AI model.\n"
    "You receive a rubric, the input variables of the task, sometimes an expected answer, "
    "and the answer to grade.\n"
    "Judge how well the answer meets the rubric. When an expected answer is given, the "
    "answer must agree with it in substance; wording may differ.\n"
    "A score of 1 means the answer fully meets the rubric, 0 means not at all; use values "
    "in between for partial credit.\n" + JUDGE_RESPONSE_FORMAT
)
"""System message of every judge request."""

DEFAULT_JUDGE_TEMPLATE = (
    "Rubric:\n{{ rubric }}\n\n"
    "Input:\n{{ input }}\n\n"
    "{{ expected_section }}"
    "<answer>\n{{ output }}\n</answer>"
)
"""User message of a judge request; ``expected_section`` is empty without an expected answer."""

JUDGE_PLACEHOLDERS = ("rubric", "input", "expected", "expected_section", "output")
_PLACEHOLDER = re.compile(r"\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}")
_VERDICT_START = re.compile(
    r"^[\s*#>`\"'_]*(?:verdict\s*[:=-]\s*)?[*`\"'_]*(pass|fail)(?:ed)?\b[\s*`\"'_.:,;!-]*(.*)",
    re.IGNORECASE | re.DOTALL,
)
_VERDICT_WORD = re.compile(r"\b(PASS|FAIL)\b")
_NUMBER_LINE = re.compile(
    r"(?:score\s*[:=]?\s*)?([-+]?(?:\d+(?:\.\d+)?|\.\d+))\s*(%|/\s*(\d+(?:\.\d+)?))?\s*\.?",
    re.IGNORECASE,
)
_REASON_PREFIX = re.compile(r"^\s*(?:reason|explanation|rationale)\s*[:=-]\s*", re.IGNORECASE)


@register_scorer("embedding-cosine")
class EmbeddingCosine(ReferenceScorer):
    """Cosine similarity of the output's and the reference's embeddings, clipped to [0, 1].

    Args (in the spec): ``model`` (required embedding model), ``threshold`` (default 0.8),
    ``value`` (optional reference text; else the expected answer).
    """

    needs = "embedding"
    default_threshold = 0.8
    threshold_arg = "threshold"
    arguments = (
        ScorerArgument("model", "string", "embedding model", required=True),
        ScorerArgument("threshold", "number", "pass mark within [0, 1]", default=0.8),
        VALUE,
    )

    def configure(self, args: ScorerArgs) -> None:
        super().configure(args)
        self.model = args.required_text("model", non_empty=True)

    def precheck(self, ctx: ScoreContext) -> Score | None:
        """A final `Score` when no call is needed (no reference text), else ``None``."""
        return self.missing_reference() if self.reference(ctx) is None else None

    def texts(self, ctx: ScoreContext) -> tuple[str, str]:
        """``(output, reference)`` to embed; call `precheck` first.

        Raises:
            ValidationError: There is no reference text.
        """
        reference = self.reference(ctx)
        if reference is None:
            raise ValidationError(f"scorer '{self.name}': no reference text to embed")
        return ctx.output, reference

    def from_vectors(self, a: Sequence[float], b: Sequence[float]) -> Score:
        """Score two embeddings; malformed vectors give a failed `Score`, never an error."""
        if len(a) != len(b) or not a:
            return self.fail(f"embeddings have mismatched sizes {len(a)} and {len(b)}")
        if not all(math.isfinite(x) for x in (*a, *b)):
            return self.fail("embeddings hold non-finite numbers")
        scale_a, scale_b = max(abs(x) for x in a), max(abs(x) for x in b)
        if scale_a == 0 or scale_b == 0:
            return self.fail("an embedding is the zero vector")
        ua, ub = [x / scale_a for x in a], [x / scale_b for x in b]
        norm = math.sqrt(math.fsum(x * x for x in ua)) * math.sqrt(math.fsum(x * x for x in ub))
        cosine = math.fsum(x * y for x, y in zip(ua, ub, strict=True)) / norm
        return self.result(cosine, f"cosine similarity {cosine:.3f} (threshold {self.threshold:g})")


def _render(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder()
    for i, char in enumerate(text):
        if char == "{":
            try:
                value = decoder.raw_decode(text, i)[0]
            except ValueError:
                continue
            if isinstance(value, dict):
                yield value


def _as_score(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        word = value.strip().upper()
        if word in ("PASS", "FAIL"):
            return 1.0 if word == "PASS" else 0.0
        try:
            return float(word)
        except ValueError:
            return None
    return None


@register_scorer("llm-judge")
class LlmJudge(BaseScorer):
    """A judge model grades the output against a rubric (and the expected answer, if any).

    Args (in the spec): ``model`` (required judge model), ``rubric`` (required),
    ``pass_threshold`` (default 0.5), ``prompt`` (optional user-message template using
    ``{{ rubric }}``, ``{{ input }}``, ``{{ expected }}``, ``{{ expected_section }}`` and the
    required ``{{ output }}``). The judge's score is compared with the threshold; a ``pass``
    field in its reply is used only when it gives no score.
    """

    needs = "completion"
    default_threshold = 0.5
    threshold_arg = "pass_threshold"
    arguments = (
        ScorerArgument("model", "string", "judge model", required=True),
        ScorerArgument("rubric", "string", "what a good answer is", required=True),
        ScorerArgument("pass_threshold", "number", "pass mark within [0, 1]", default=0.5),
        ScorerArgument("prompt", "string", "judge message template with {{ output }}"),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.judge_model = args.required_text("model", non_empty=True)
        self.rubric = args.required_text("rubric", non_empty=True)
        self.system_prompt = JUDGE_SYSTEM_PROMPT
        self.prompt_template = args.text("prompt", required=False) or DEFAULT_JUDGE_TEMPLATE
        used = {m.group(1) for m in _PLACEHOLDER.finditer(self.prompt_template)}
        unknown = sorted(used - set(JUDGE_PLACEHOLDERS))
        if unknown:
            raise args.error(
                "prompt", f"uses unknown placeholder(s) {unknown} (known: {JUDGE_PLACEHOLDERS})"
            )
        if "output" not in used:
            raise args.error("prompt", "must contain {{ output }}")

    def build_messages(self, ctx: ScoreContext) -> list[dict[str, str]]:
        """The system and user messages to send to ``judge_model``."""
        variables = json.dumps(
            dict(ctx.variables), ensure_ascii=False, indent=2, sort_keys=True, default=str
        )
        expected = ctx.expected
        section = "" if expected is None else f"<expected>\n{expected}\n</expected>\n\n"
        values = {
            "rubric": self.rubric,
            "input": variables if ctx.variables else "(none)",
            "expected": "(none)" if expected is None else expected,
            "expected_section": section,
            "output": ctx.output,
        }
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": _render(self.prompt_template, values)},
        ]

    def parse(self, text: str) -> Score:
        """Read the judge's reply; never raises.

        Accepted, in order: a JSON object anywhere with ``score`` (or ``pass``/``passed``/
        ``verdict``) and ``reason``; a reply starting with PASS/FAIL whose first line does not
        also name the other verdict; a reply holding only one of the upper-case words; a
        first line that is just a number (``0.8``, ``80%``, ``8/10``, ``Score: 0.8``).
        Anything else, or a score outside [0, 1], scores 0 and fails.
        """
        try:
            found = self._parse(str(text))
        except Exception as exc:  # the judge's text is untrusted; report, don't crash
            return self.fail(
                f"unparseable judge response ({type(exc).__name__}): {clip(repr(text))}"
            )
        if found is None:
            return self.fail(f"unparseable judge response: {clip(str(text), 200)}")
        value, reason = found
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            return self.fail(f"judge score {value!r} is outside [0, 1]: {clip(str(text), 200)}")
        verdict = f"judge score {value:g} (threshold {self.threshold:g})"
        return self.result(value, f"{verdict}: {reason}" if reason else verdict)

    def _parse(self, text: str) -> tuple[float, str] | None:
        for obj in _json_objects(text):
            for key in ("score", "pass", "passed", "verdict"):
                if key in obj:
                    score = _as_score(obj[key])
                    if score is None:
                        return None
                    reason = obj.get("reason") or obj.get("explanation") or ""
                    return score, reason if isinstance(reason, str) else json.dumps(reason)
        start = _VERDICT_START.match(text)
        if start:
            passed = start.group(1).lower() == "pass"
            first_line = text.strip().partition("\n")[0]
            if not re.search(r"\bfail" if passed else r"\bpass", first_line, re.IGNORECASE):
                return float(passed), _REASON_PREFIX.sub("", start.group(2).strip())
        words = set(_VERDICT_WORD.findall(text))
        if len(words) == 1:
            return (1.0 if words == {"PASS"} else 0.0), text.strip()
        first, _, rest = text.strip().partition("\n")
        number = _NUMBER_LINE.fullmatch(first.strip())
        if number is None:
            return None
        score = float(number.group(1))
        if number.group(2) == "%":
            score /= 100
        elif number.group(3):
            denominator = float(number.group(3))
            score = score / denominator if denominator else math.nan
        return score, _REASON_PREFIX.sub("", rest.strip())
