"""Model-graded classification, like OpenAI Evals' ModelBasedClassify, and presets built on it.

A judge model reads a prompt (``{input}``, ``{completion}``, ``{expected}``... filled in),
picks one of ``choice_strings`` in the ``eval_type`` layout, and the choice's score in
``choice_scores`` is the scorer's value. The request and parse halves stay pure; the
evaluator makes the call in between (see `JudgeScorer`).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.scoring import _graded_prompts as prompts
from domain.scoring._common import BaseScorer, ScorerArgs
from domain.scoring.base import Score, ScoreContext, _finite, register_scorer
from domain.scoring.listing import ScorerArgument

EVAL_TYPES = tuple(prompts.LAYOUTS)
GRADED_PLACEHOLDERS = ("input", "completion", "output", "expected", "ideal", "criteria")
"""Placeholders filled by the scorer; any other ``{name}`` is the case variable ``name``."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_LABELLED = re.compile(r"(?:final\s+)?(?:answer|choice|verdict|grade)\s+(.+)", re.IGNORECASE)
_NONE = "(none)"


@dataclass(frozen=True)
class _Preset:
    prompt: str | None = None
    choices: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    eval_type: str = "cot_classify"


def _normal(text: str) -> str:
    return " ".join(text.translate(_PUNCTUATION).split())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


class ModelGradedClassifyBase(BaseScorer):
    """The shared request and parse halves; subclasses set ``preset``."""

    needs = "completion"
    default_threshold = 0.5
    preset: ClassVar[_Preset] = _Preset()
    grades_completion: ClassVar[bool] = True

    def configure(self, args: ScorerArgs) -> None:
        self.judge_model = args.required_text("model", non_empty=True)
        self.value = args.text("value", required=False)
        self.criteria = args.text("criteria", required=False, non_empty=True)
        self._read_template(args)
        self._read_choices(args)
        eval_type = args.text("eval_type", required=False) or self.preset.eval_type
        if eval_type not in EVAL_TYPES:
            raise args.error("eval_type", f"must be one of {list(EVAL_TYPES)}, got {eval_type!r}")
        self.eval_type = eval_type
        self.system_prompt = prompts.GRADER_SYSTEM_PROMPT
        listed = ", ".join(self.choices)
        self.suffix = f"\n\n{prompts.CHOICES_MARKER} {listed}\n{prompts.LAYOUTS[eval_type]}"

    def _read_template(self, args: ScorerArgs) -> None:
        template = args.text("prompt", required=self.preset.prompt is None, non_empty=True)
        self.prompt_template = template or str(self.preset.prompt)
        used = {m.group(1) for m in _TOKEN.finditer(self.prompt_template) if m.group(1)}
        if self.grades_completion and not used & {"completion", "output"}:
            raise args.error("prompt", "must contain {completion} (or {output})")
        if "criteria" in used and self.criteria is None:
            raise args.error("criteria", "is required: the prompt uses {criteria}")
        if "criteria" not in used and self.criteria is not None:
            raise args.error("criteria", "would be ignored: the prompt has no {criteria}")

    def _read_choices(self, args: ScorerArgs) -> None:
        given = "choice_strings" in self.spec.args or not self.preset.choices
        choices = args.text_list("choice_strings") if given else list(self.preset.choices)
        if any("," in c or "\n" in c for c in choices):
            raise args.error("choice_strings", f"must not hold commas or line breaks: {choices!r}")
        normal = [_normal(c) for c in choices]
        if not all(normal) or len(set(normal)) != len(normal):
            raise args.error(
                "choice_strings",
                f"must be distinct once punctuation is ignored, got {choices!r}",
            )
        self.choices = tuple(choices)
        if "choice_scores" in self.spec.args:
            raw = args.raw("choice_scores")
            if not isinstance(raw, Mapping):
                raise args.error("choice_scores", f"must be an object, got {raw!r}")
            unknown = sorted(set(raw) - set(choices))
            if unknown:
                raise args.error("choice_scores", f"names unknown choice(s) {unknown}")
            bad = {k: v for k, v in raw.items() if not _finite(v) or not 0.0 <= v <= 1.0}
            if bad:
                raise args.error("choice_scores", f"values must be within [0, 1], got {bad}")
            scores = {k: float(v) for k, v in raw.items()}
        elif given:
            scores = {choices[0]: 1.0}
        else:
            scores = dict(self.preset.scores)
        self.choice_scores = {c: scores.get(c, 0.0) for c in choices}

    def _values(self, ctx: ScoreContext) -> dict[str, str]:
        variables = dict(ctx.variables)
        named = next((k for k in ("input", "question") if k in variables), None)
        if named is not None:
            question = _text(variables[named])
        elif len(variables) == 1:
            question = _text(next(iter(variables.values())))
        elif variables:
            question = json.dumps(variables, ensure_ascii=False, sort_keys=True, default=str)
        else:
            question = _NONE
        reference = self.value if self.value is not None else ctx.expected
        expected = _NONE if reference is None else reference
        values = {k: _text(v) for k, v in variables.items()}
        values.update(
            input=question,
            completion=ctx.output,
            output=ctx.output,
            expected=expected,
            ideal=expected,
            criteria=self.criteria or _NONE,
        )
        return values

    def build_messages(self, ctx: ScoreContext) -> list[dict[str, str]]:
        """The system and user messages to send to ``judge_model``.

        A placeholder naming no case variable is filled with ``(none)``; ``{{`` and ``}}``
        stand for literal braces.
        """
        values = self._values(ctx)

        def fill(m: re.Match[str]) -> str:
            if m.group(1) is None:
                return m.group(0)[0]
            return values.get(m.group(1), _NONE)

        user = _TOKEN.sub(fill, self.prompt_template) + self.suffix
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": user},
        ]

    def _choice_on(self, line: str, *, exact: bool) -> str | None:
        normal = _normal(line)
        labelled = _LABELLED.fullmatch(normal)
        candidates = [normal] + ([labelled.group(1)] if labelled else [])
        for text in candidates:
            found = {
                c
                for c in self.choices
                if (n := _normal(c)) == text
                or (
                    not exact and (text.startswith(n + " ") or text.endswith(" " + n)) and text != n
                )
            }
            if len(found) == 1:
                return found.pop()
        return None

    def _find(self, lines: list[str]) -> tuple[int, str] | None:
        order = list(range(len(lines)))
        if self.eval_type == "cot_classify":
            order.reverse()
        if not order:
            return None
        first = order[0]
        choice = self._choice_on(lines[first], exact=False)
        if choice is not None:
            return first, choice
        for index in order[1:]:
            choice = self._choice_on(lines[index], exact=True)
            if choice is not None:
                return index, choice
        return None

    def parse(self, text: str) -> Score:
        """Read the judge's choice; never raises.

        The choice is looked for on the reply's first non-empty line (its last one for
        ``cot_classify``), ignoring punctuation and markdown: the line is the choice, starts
        or ends with it as a word (``"C) same facts"``, ``"Answer: C"``). Failing that, any
        other line that is exactly a choice (or ``Answer: <choice>``) counts, nearest first.
        No choice, or a line naming two, scores 0.
        """
        reply = str(text)
        lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
        found = self._find(lines)
        if found is None:
            return self.fail(f"judge gave no valid choice: {_short(reply)}")
        index, choice = found
        value = self.choice_scores[choice]
        reasoning = _short(" ".join(lines[:index] + lines[index + 1 :]))
        verdict = f"judge chose {choice} (score {value:g}, threshold {self.threshold:g})"
        return self.result(value, f"{verdict}: {reasoning}" if reasoning else verdict)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arguments(
    preset: _Preset, choices_help: str, *, criteria: bool = False
) -> tuple[ScorerArgument, ...]:
    required = preset.prompt is None
    return (
        ScorerArgument("model", "string", "judge model", required=True),
        ScorerArgument("value", "string", "reference for {expected}; default: the expected answer"),
        ScorerArgument(
            "prompt",
            "string",
            "grading prompt with {completion}, {input}, {expected}...",
            required=required,
        ),
        ScorerArgument(
            "choice_strings",
            "string list",
            choices_help,
            required=required,
            default=None if required else list(preset.choices),
        ),
        ScorerArgument(
            "choice_scores",
            "object",
            "score within [0, 1] per choice; unlisted choices score 0",
            default=None if required else dict(preset.scores),
        ),
        ScorerArgument(
            "eval_type",
            "string",
            f"reply layout, one of {', '.join(EVAL_TYPES)}",
            default=preset.eval_type,
        ),
        ScorerArgument(
            "criteria", "string", "what the answer must meet, for {criteria}", required=criteria
        ),
    )


@register_scorer("model-graded-classify")
class ModelGradedClassify(ModelGradedClassifyBase):
    """A judge model picks one of ``choice_strings`` for a prompt you write; the choice's score
    is the value.

    Args (in the spec): ``judge_model`` and ``prompt`` (required; ``{input}``,
    ``{completion}``/``{output}``, ``{expected}``/``{ideal}``, ``{criteria}`` and any case
    variable), ``choice_strings`` (required), ``choice_scores`` (default: 1 for the first
    choice, 0 for the others), ``eval_type`` (``classify``, ``cot_classify`` — the default —
    or ``classify_cot``), ``criteria``. Passes at 0.5 unless the spec sets ``threshold``.
    """

    arguments = _arguments(_Preset(), 'the choices the judge picks from, e.g. ["Y", "N"]')


_LEVELS = {"A": 1.0, "B": 0.5, "C": 0.0}
_FACTUALITY = _Preset(
    prompts.FACTUALITY, tuple("ABCDE"), {"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.0, "E": 1.0}
)
_CLOSEDQA = _Preset(prompts.CLOSEDQA, ("Y", "N"), {"Y": 1.0, "N": 0.0})
_RELEVANCE = _Preset(prompts.ANSWER_RELEVANCE, tuple(_LEVELS), _LEVELS)
_FAITHFULNESS = _Preset(prompts.CONTEXT_FAITHFULNESS, tuple(_LEVELS), _LEVELS)
_RECALL = _Preset(prompts.CONTEXT_RECALL, tuple(_LEVELS), _LEVELS)
_PRESET_CHOICES = "the choices the judge picks from (default: the preset's)"


@register_scorer("factuality")
class Factuality(ModelGradedClassifyBase):
    """A judge model compares the facts of the output with the expected answer (OpenAI Evals'
    ``fact``): A subset, B superset, C same facts, D disagree, E differ harmlessly.

    Args (in the spec): ``judge_model`` (required); ``prompt``, ``choice_strings``,
    ``choice_scores`` (default: A, B, C and E score 1, D scores 0), ``eval_type`` (default
    ``cot_classify``) as for ``model-graded-classify``.
    """

    preset = _FACTUALITY
    arguments = _arguments(_FACTUALITY, _PRESET_CHOICES)


@register_scorer("model-graded-closedqa")
class ModelGradedClosedqa(ModelGradedClassifyBase):
    """A judge model says whether the output meets ``criteria`` (Y/N, OpenAI Evals'
    ``closedqa``); the expected answer, when the case has one, is its ground truth.

    Args (in the spec): ``judge_model`` and ``criteria`` (required); ``prompt``,
    ``choice_strings`` (default Y, N), ``choice_scores`` (Y 1, N 0), ``eval_type`` (default
    ``cot_classify``) as for ``model-graded-classify``.
    """

    preset = _CLOSEDQA
    arguments = _arguments(_CLOSEDQA, _PRESET_CHOICES, criteria=True)


@register_scorer("answer-relevance")
class AnswerRelevance(ModelGradedClassifyBase):
    """A judge model says whether the output responds to the input question: A directly (1),
    B in part (0.5), C not at all (0).

    Args (in the spec): ``judge_model`` (required); the others as for
    ``model-graded-classify``. The question (``{input}``) is the ``input`` or ``question``
    variable, else the case's only variable, else all its variables as JSON.
    """

    preset = _RELEVANCE
    arguments = _arguments(_RELEVANCE, _PRESET_CHOICES)


@register_scorer("context-faithfulness")
class ContextFaithfulness(ModelGradedClassifyBase):
    """A judge model says whether the output's claims are backed by the case's ``context``
    variable: A all (1), B some (0.5), C none or contradicted (0).

    Args (in the spec): ``judge_model`` (required); the others as for
    ``model-graded-classify``.
    """

    preset = _FAITHFULNESS
    arguments = _arguments(_FAITHFULNESS, _PRESET_CHOICES)


@register_scorer("context-recall")
class ContextRecall(ModelGradedClassifyBase):
    """A judge model says whether the case's ``context`` variable holds the expected answer's
    facts: A all (1), B some (0.5), C none (0). It grades the context, not the output.

    Args (in the spec): ``judge_model`` (required); the others as for
    ``model-graded-classify``.
    """

    preset = _RECALL
    grades_completion = False
    arguments = _arguments(_RECALL, _PRESET_CHOICES)
