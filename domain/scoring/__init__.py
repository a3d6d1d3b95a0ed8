"""Scorers: how an output is judged, by name and arguments, purely.

Build a scorer from a `ScorerSpec` (a registered ``type`` plus JSON-safe ``args``), score a
`ScoreContext`, and `combine` the weighted scores of a cell. Pure scorers (``needs is None``)
score directly; ``embedding-cosine``, ``llm-judge``, ``moderation`` and the model-graded
classifiers (``model-graded-classify``, ``factuality``, ``model-graded-closedqa``...) split
into a request half and a parse half so the evaluator can make the model call through the
gateway in between; ``python`` and ``javascript`` (``executes_code``) hand the evaluator a
program for its sandbox.

Examples:
    >>> scorer = build_scorer({"type": "icontains", "args": {"value": "paris"}})
    >>> scorer.score(ScoreContext(output="Paris, of course.")).passed
    True
"""

from domain.scoring import (  # noqa: F401  (registers)
    conversation,
    formats,
    graded,
    metrics,
    similarity,
    structured,
    text,
    thresholds,
    tools,
)
from domain.scoring._common import BaseScorer, ReferenceScorer, ScorerArgs
from domain.scoring.base import (
    EmbeddingScorer,
    JudgeScorer,
    ModerationScorer,
    Needs,
    PureScorer,
    SandboxScorer,
    Score,
    ScoreContext,
    Scorer,
    ScorerFactory,
    ScorerSpec,
    build_scorer,
    build_scorers,
    executes_code,
    register_scorer,
    registered_scorers,
)
from domain.scoring.code import CodeAssertion, check_code_allowed, code_scorer_names
from domain.scoring.combine import CellScore, combine
from domain.scoring.custom import CustomScorer, custom_scorer
from domain.scoring.graded import EVAL_TYPES, GRADED_PLACEHOLDERS
from domain.scoring.listing import ScorerArgument, ScorerDescription, describe_scorers
from domain.scoring.model_based import (
    DEFAULT_JUDGE_TEMPLATE,
    JUDGE_PLACEHOLDERS,
    JUDGE_RESPONSE_FORMAT,
    JUDGE_SYSTEM_PROMPT,
)
from domain.scoring.moderation import DEFAULT_MODERATION_MODEL
from domain.scoring.perplexity import perplexity
from domain.scoring.similarity import levenshtein, levenshtein_ratio
from domain.scoring.structured import find_json, first_number

__all__ = [
    "DEFAULT_JUDGE_TEMPLATE",
    "DEFAULT_MODERATION_MODEL",
    "EVAL_TYPES",
    "GRADED_PLACEHOLDERS",
    "JUDGE_PLACEHOLDERS",
    "JUDGE_RESPONSE_FORMAT",
    "JUDGE_SYSTEM_PROMPT",
    "BaseScorer",
    "CellScore",
    "CodeAssertion",
    "CustomScorer",
    "EmbeddingScorer",
    "JudgeScorer",
    "ModerationScorer",
    "Needs",
    "PureScorer",
    "ReferenceScorer",
    "SandboxScorer",
    "Score",
    "ScoreContext",
    "Scorer",
    "ScorerArgs",
    "ScorerArgument",
    "ScorerDescription",
    "ScorerFactory",
    "ScorerSpec",
    "build_scorer",
    "build_scorers",
    "check_code_allowed",
    "code_scorer_names",
    "combine",
    "custom_scorer",
    "describe_scorers",
    "executes_code",
    "find_json",
    "first_number",
    "levenshtein",
    "levenshtein_ratio",
    "perplexity",
    "register_scorer",
    "registered_scorers",
]
