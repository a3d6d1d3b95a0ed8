"""`negate`: promptfoo's `not-` prefix inverts a verdict, never a failure to judge."""

from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.scoring import ScoreContext, ScorerSpec, build_scorer, custom_scorer, register_scorer


def _score(spec: dict[str, object], output: str, expected: str | None = None) -> tuple[float, bool]:
    score = build_scorer(spec).score(ScoreContext(output=output, expected=expected))  # type: ignore[attr-defined]
    return score.value, score.passed


@pytest.mark.parametrize(
    ("spec", "output", "plain"),
    [
        ({"type": "contains", "args": {"value": "Paris"}}, "It is Paris.", (1.0, True)),
        ({"type": "contains", "args": {"value": "Paris"}}, "It is Lyon.", (0.0, False)),
        ({"type": "regex", "args": {"pattern": r"^\d+$"}}, "42", (1.0, True)),
        ({"type": "is-json"}, "{not json", (0.0, False)),
        ({"type": "levenshtein", "args": {"value": "kitten"}}, "sitting", (1 - 3 / 7, False)),
        ({"type": "levenshtein", "args": {"value": "kitten"}}, "kitten", (1.0, True)),
    ],
)
def test_negation_inverts_value_and_verdict(
    spec: dict[str, object], output: str, plain: tuple[float, bool]
) -> None:
    assert _score(spec, output) == pytest.approx(plain)
    value, passed = _score({**spec, "negate": True}, output)
    assert value == pytest.approx(1.0 - plain[0])
    assert passed is (not plain[1])


def test_a_scorer_that_cannot_judge_still_fails_when_negated() -> None:
    # No reference text: "cannot tell" must not turn into a pass.
    assert _score({"type": "equals", "negate": True}, "anything") == (0.0, False)
    latency = build_scorer({"type": "latency", "args": {"max_ms": 10}, "negate": True})
    assert latency.score(ScoreContext(output="x")).passed is False  # type: ignore[attr-defined]


def test_negated_reason_and_default_name() -> None:
    scorer = build_scorer({"type": "icontains", "args": {"value": "sorry"}, "negate": True})
    score = scorer.score(ScoreContext(output="Sorry, I cannot."))  # type: ignore[attr-defined]
    assert scorer.name == "not-icontains" and score.name == "not-icontains"
    assert score.reason.startswith("negated: output contains")
    named = ScorerSpec("icontains", {"value": "x"}, name="polite", negate=True)
    assert named.name == "polite"


def test_negate_is_recorded_only_when_set() -> None:
    assert "negate" not in ScorerSpec("contains", {"value": "a"}).to_dict()
    spec = ScorerSpec("contains", {"value": "a"}, negate=True)
    assert spec.to_dict()["negate"] is True
    assert ScorerSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValidationError, match="negate must be true or false"):
        ScorerSpec.from_dict({"type": "contains", "negate": "yes"})


def test_a_scorer_that_does_not_apply_negate_cannot_be_negated() -> None:
    class Plain:
        needs = None
        weight = 1.0
        threshold = 1.0

        def __init__(self, spec: ScorerSpec) -> None:
            self.name = spec.name

        def record(self) -> dict[str, object]:
            return {}

    register_scorer("test-plain-negate")(Plain)
    assert build_scorer({"type": "test-plain-negate"}).name == "test-plain-negate"
    with pytest.raises(ValidationError, match="cannot be negated"):
        build_scorer({"type": "test-plain-negate", "negate": True})
    assert custom_scorer(lambda ctx: 1.0).name  # custom scorers are not specs: nothing to negate
