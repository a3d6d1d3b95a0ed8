from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.scoring import (
    EmbeddingScorer,
    JudgeScorer,
    PureScorer,
    ScoreContext,
    ScorerSpec,
    build_scorer,
)

PURE_SPECS: list[tuple[str, dict[str, Any]]] = [
    ("equals", {}),
    ("contains", {}),
    ("icontains", {}),
    ("contains-any", {"values": ["a", "1", "é"]}),
    ("contains-all", {"values": ["a", "1", "é"]}),
    ("regex", {"pattern": r"\d+", "flags": "i"}),
    ("starts-with", {}),
    ("is-json", {"extract": True}),
    ("json-schema", {"schema": {"type": "object"}, "extract": True}),
    ("numeric", {"tolerance": 0.5}),
    ("levenshtein", {}),
    ("similarity", {}),
    ("latency", {"max_ms": 100}),
    ("cost", {"max_usd": 0.01}),
]
PURE = [build_scorer(ScorerSpec(t, a)) for t, a in PURE_SPECS]
JUDGE = build_scorer(ScorerSpec("llm-judge", {"model": "m", "rubric": "r"}))
EMBED = build_scorer(ScorerSpec("embedding-cosine", {"model": "m"}))

texts = st.text(max_size=60)
contexts = st.builds(
    ScoreContext,
    output=texts,
    expected=st.none() | texts,
    latency_ms=st.none() | st.floats(min_value=0, max_value=1e9),
    cost_usd=st.none() | st.floats(min_value=0, max_value=1e3),
)


@settings(max_examples=60, deadline=None)
@given(contexts)
def test_every_pure_scorer_stays_in_unit_interval(ctx):
    for scorer in PURE:
        assert isinstance(scorer, PureScorer)
        result = scorer.score(ctx)
        assert 0.0 <= result.value <= 1.0 and result.name == scorer.name


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"\{\"score\": -?\d+(\.\d+)?\}"))
def test_judge_parse_never_raises_and_stays_in_unit_interval(reply):
    assert isinstance(JUDGE, JudgeScorer)
    assert 0.0 <= JUDGE.parse(reply).value <= 1.0


vectors = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=8)


@settings(max_examples=100, deadline=None)
@given(vectors, vectors)
def test_cosine_never_raises_and_stays_in_unit_interval(a, b):
    assert isinstance(EMBED, EmbeddingScorer)
    assert 0.0 <= EMBED.from_vectors(a, b).value <= 1.0
