import pytest

from domain.errors import ValidationError
from domain.scoring import Score, combine

GOOD = Score(1.0, True, "ok", "equals")
BAD = Score(0.0, False, "too slow", "latency")
HALF = Score(0.5, True, "so-so", "similarity")


def test_value_is_weighted_mean():
    assert combine([(GOOD, 3), (BAD, 1)]).value == 0.75


def test_fails_when_any_weighted_scorer_fails():
    assert not combine([(GOOD, 3), (BAD, 1)]).passed


def test_zero_weight_scorer_does_not_gate_or_count():
    cell = combine([(GOOD, 1), (BAD, 0)])
    assert (cell.value, cell.passed) == (1.0, True)


def test_all_zero_weights_use_plain_mean_and_pass():
    cell = combine([(GOOD, 0), (BAD, 0)])
    assert (cell.value, cell.passed) == (0.5, True)


def test_per_scorer_scores_are_kept():
    cell = combine([(GOOD, 1), (HALF, 2)])
    assert cell.scores == (GOOD, HALF) and cell.weights == (1.0, 2.0)
    assert cell.by_name["similarity"] is HALF


def test_failed_lists_gating_failures():
    assert combine([(GOOD, 1), (BAD, 1)]).failed == (BAD,)


def test_to_dict_carries_weights():
    data = combine([(GOOD, 2)]).to_dict()
    assert data == {
        "value": 1.0,
        "passed": True,
        "scores": [{"name": "equals", "value": 1.0, "passed": True, "reason": "ok", "weight": 2.0}],
    }


def test_negative_weight_is_rejected():
    with pytest.raises(ValidationError, match="weight of scorer 'equals'"):
        combine([(GOOD, -1)])


def test_empty_input_is_rejected():
    with pytest.raises(ValidationError, match="at least one score"):
        combine([])


def test_score_value_outside_unit_interval_is_rejected():
    with pytest.raises(ValidationError, match=r"within \[0, 1\]"):
        Score(1.5, True, "", "x")
