import pytest

from domain.errors import ConfigurationError, ValidationError
from domain.scoring import (
    BaseScorer,
    EmbeddingScorer,
    JudgeScorer,
    PureScorer,
    Score,
    ScoreContext,
    ScorerSpec,
    build_scorer,
    build_scorers,
    custom_scorer,
    register_scorer,
    registered_scorers,
)

BUILT_INS = [
    "answer-relevance",
    "contains",
    "contains-all",
    "contains-any",
    "context-faithfulness",
    "context-recall",
    "cost",
    "embedding-cosine",
    "equals",
    "factuality",
    "icontains",
    "is-json",
    "json-schema",
    "latency",
    "levenshtein",
    "llm-judge",
    "model-graded-classify",
    "model-graded-closedqa",
    "numeric",
    "regex",
    "similarity",
    "starts-with",
]


def test_every_built_in_is_registered():
    assert set(BUILT_INS) <= set(registered_scorers())


def test_spec_defaults_name_to_type():
    assert ScorerSpec("equals").name == "equals"


def test_spec_round_trips_through_dict():
    spec = ScorerSpec("regex", {"pattern": "^a", "flags": "i"}, weight=2, threshold=1, name="r")
    assert ScorerSpec.from_dict(spec.to_dict()) == spec


def test_spec_is_hashable():
    assert hash(ScorerSpec("equals", {"value": "x"})) == hash(ScorerSpec("equals", {"value": "x"}))


def test_spec_copies_args():
    args = {"values": ["a"]}
    spec = ScorerSpec("contains-any", args)
    args["values"].append("b")
    assert spec.args == {"values": ["a"]}


def test_rebuilt_scorer_gives_equal_results():
    original = build_scorer(ScorerSpec("levenshtein", {"value": "kitten"}, threshold=0.5))
    rebuilt = build_scorer(ScorerSpec.from_dict(original.record()))
    ctx = ScoreContext(output="sitting")
    assert isinstance(original, PureScorer) and isinstance(rebuilt, PureScorer)
    assert rebuilt.score(ctx) == original.score(ctx)


def test_build_accepts_a_plain_dict():
    scorer = build_scorer({"type": "equals", "args": {"value": "x"}, "name": "exact"})
    assert scorer.name == "exact"


def test_unknown_type_lists_known_ones():
    with pytest.raises(ValidationError, match=r"unknown scorer 'nope' \(known: .*equals"):
        build_scorer(ScorerSpec("nope"))


def test_negative_weight_is_rejected():
    with pytest.raises(ValidationError, match="weight must be a number >= 0"):
        ScorerSpec("equals", weight=-1)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_threshold_outside_unit_interval_is_rejected(threshold):
    with pytest.raises(ValidationError, match=r"threshold must be within \[0, 1\]"):
        ScorerSpec("equals", threshold=threshold)


def test_non_json_args_are_rejected():
    with pytest.raises(ValidationError, match="not JSON-safe"):
        ScorerSpec("equals", {"value": object()})


def test_unknown_spec_field_is_rejected():
    with pytest.raises(ValidationError, match="unknown scorer spec field"):
        ScorerSpec.from_dict({"type": "equals", "value": "x"})


def test_spec_without_type_is_rejected():
    with pytest.raises(ValidationError, match="needs a 'type'"):
        ScorerSpec.from_dict({"args": {}})


def test_unknown_argument_is_rejected():
    with pytest.raises(ValidationError, match=r"unknown argument\(s\) 'flag'"):
        build_scorer(ScorerSpec("regex", {"pattern": "x", "flag": "i"}))


def test_missing_argument_points_at_a_likely_typo():
    with pytest.raises(ValidationError, match="'pattern' is required \\(is 'patern' a typo"):
        build_scorer(ScorerSpec("regex", {"patern": "x"}))


@pytest.mark.parametrize(
    ("type_", "missing"),
    [
        ("regex", "pattern"),
        ("contains-any", "values"),
        ("json-schema", "schema"),
        ("latency", "max_ms"),
        ("cost", "max_usd"),
        ("embedding-cosine", "model"),
        ("llm-judge", "model"),
    ],
)
def test_missing_required_argument_is_named(type_, missing):
    with pytest.raises(ValidationError, match=f"argument '{missing}' is required"):
        build_scorer(ScorerSpec(type_))


def test_wrongly_typed_argument_is_rejected():
    with pytest.raises(ValidationError, match="'case_sensitive' must be true or false"):
        build_scorer(ScorerSpec("equals", {"case_sensitive": "yes"}))


def test_custom_record_cannot_be_rebuilt():
    record = custom_scorer(lambda ctx: True, name="mine").record()
    with pytest.raises(ValidationError, match="cannot be rebuilt"):
        ScorerSpec.from_dict(record)


def test_duplicate_display_names_are_rejected():
    with pytest.raises(ValidationError, match="two scorers are named 'contains'"):
        build_scorers([{"type": "contains", "args": {"value": "a"}}, {"type": "contains"}])


def test_distinct_names_make_duplicates_fine():
    scorers = build_scorers([ScorerSpec("contains", name="a"), ScorerSpec("contains", name="b")])
    assert [s.name for s in scorers] == ["a", "b"]


GRADED = [
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "factuality",
    "model-graded-classify",
    "model-graded-closedqa",
]
NEEDS = {"embedding-cosine": "embedding", "llm-judge": "completion"} | dict.fromkeys(
    GRADED, "completion"
)
SAMPLE_ARGS = {
    "contains-any": {"values": ["a"]},
    "contains-all": {"values": ["a"]},
    "regex": {"pattern": "a"},
    "json-schema": {"schema": {}},
    "latency": {"max_ms": 1},
    "cost": {"max_usd": 1},
    "embedding-cosine": {"model": "m"},
    "llm-judge": {"model": "m", "rubric": "r"},
    **{name: {"model": "m"} for name in GRADED},
    "model-graded-classify": {"model": "m", "prompt": "{output}", "choice_strings": ["Y"]},
    "model-graded-closedqa": {"model": "m", "criteria": "c"},
}


@pytest.mark.parametrize("type_", BUILT_INS)
def test_needs_matches_the_protocol_offered(type_):
    scorer = build_scorer(ScorerSpec(type_, SAMPLE_ARGS.get(type_, {})))
    protocol = {None: PureScorer, "embedding": EmbeddingScorer, "completion": JudgeScorer}
    assert scorer.needs == NEEDS.get(type_)
    assert isinstance(scorer, protocol[scorer.needs])
    assert sum(isinstance(scorer, p) for p in protocol.values()) == 1


@register_scorer("test-always-pass")
class AlwaysPass(BaseScorer):
    def score(self, ctx: ScoreContext) -> Score:
        return self.result(1.0, "always passes")


def test_registered_class_builds_from_a_spec():
    scorer = build_scorer(ScorerSpec("test-always-pass", weight=2))
    assert isinstance(scorer, PureScorer) and scorer.weight == 2.0
    assert scorer.score(ScoreContext(output="")).passed


def test_registering_a_taken_name_is_refused():
    with pytest.raises(ConfigurationError, match="already registered"):
        register_scorer("equals")(AlwaysPass)


@pytest.mark.parametrize("name", ["Equals", "two words", "custom", ""])
def test_registering_an_invalid_name_is_refused(name):
    with pytest.raises(ConfigurationError, match="invalid scorer name"):
        register_scorer(name)
