import pytest

from domain.errors import ValidationError
from domain.scoring import EmbeddingScorer, ScoreContext, ScorerSpec, build_scorer


def embedding(threshold: float | None = None, **args: object) -> EmbeddingScorer:
    scorer = build_scorer(
        ScorerSpec("embedding-cosine", {"model": "sim-embed", **args}, threshold=threshold)
    )
    assert isinstance(scorer, EmbeddingScorer)
    return scorer


def test_is_marked_as_needing_an_embedding():
    scorer = embedding()
    assert (scorer.needs, scorer.model, scorer.threshold) == ("embedding", "sim-embed", 0.8)


def test_texts_are_output_and_expected():
    assert embedding().texts(ScoreContext(output="a", expected="b")) == ("a", "b")


def test_value_argument_replaces_expected():
    assert embedding(value="ref").texts(ScoreContext(output="a", expected="b")) == ("a", "ref")


def test_precheck_fails_without_reference():
    result = embedding().precheck(ScoreContext(output="a"))
    assert result is not None and not result.passed


def test_precheck_gives_way_when_reference_exists():
    assert embedding().precheck(ScoreContext(output="a", expected="b")) is None


def test_identical_vectors_pass():
    result = embedding().from_vectors([1.0, 2.0], [2.0, 4.0])
    assert result.value == pytest.approx(1.0) and result.passed


def test_orthogonal_vectors_fail():
    result = embedding().from_vectors([1.0, 0.0], [0.0, 1.0])
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason == "cosine similarity 0.000 (threshold 0.8)"


def test_opposite_vectors_clip_to_zero():
    assert embedding().from_vectors([1.0, 0.0], [-1.0, 0.0]).value == 0.0


def test_threshold_argument_sets_pass_mark():
    assert embedding(threshold=0.5).from_vectors([1.0, 1.0], [1.0, 0.0]).passed


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ([1.0], [1.0, 0.0], "mismatched sizes"),
        ([], [], "mismatched sizes"),
        ([0.0, 0.0], [1.0, 0.0], "zero vector"),
        ([float("nan"), 1.0], [1.0, 0.0], "non-finite"),
    ],
)
def test_malformed_vectors_fail_without_raising(a, b, reason):
    result = embedding().from_vectors(a, b)
    assert not result.passed and reason in result.reason


def test_spec_threshold_and_argument_must_agree():
    with pytest.raises(ValidationError, match="disagrees with threshold"):
        build_scorer(
            ScorerSpec("embedding-cosine", {"model": "m", "threshold": 0.7}, threshold=0.9)
        )


def test_threshold_argument_must_be_within_unit_interval():
    with pytest.raises(ValidationError, match=r"'threshold' must be within \[0, 1\]"):
        build_scorer(ScorerSpec("embedding-cosine", {"model": "m", "threshold": 2}))
