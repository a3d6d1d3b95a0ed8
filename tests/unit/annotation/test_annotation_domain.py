from __future__ import annotations

from typing import Any

import pytest

from domain.annotation import (
    Answer,
    Item,
    Queue,
    QueueFilter,
    agreement,
    deal,
    fleiss_kappa,
    pair_cells,
    preferred,
    select_cells,
    tally,
)
from domain.errors import ValidationError
from domain.feedback import cohen_kappa
from domain.reports import ResultRecord


def cell(case_id: str, passed: bool | None = True, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def test_cohen_kappa_of_two_annotators_matches_a_hand_calculation() -> None:
    # 10 items. Both pass: 4; A pass, B fail: 2; A fail, B pass: 1; both fail: 3.
    # p_o = (4 + 3) / 10 = 0.7. A passes 6/10, B passes 5/10.
    # p_e = 0.6 * 0.5 + 0.4 * 0.5 = 0.5. kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["pass"] * 6 + ["fail"] * 4
    b = ["pass"] * 4 + ["fail"] * 2 + ["pass"] + ["fail"] * 3
    answers = [Answer(i, "ann", verdict=v) for i, v in enumerate(a)]
    answers += [Answer(i, "bob", verdict=v) for i, v in enumerate(b)]
    got = agreement(answers, per_item=2)
    assert (got.method, got.n_items, got.annotators) == ("cohen", 10, ("ann", "bob"))
    assert got.kappa == pytest.approx(0.4)
    assert got.observed == pytest.approx(0.7)


def test_cohen_kappa_takes_any_labels_and_keeps_the_boolean_results() -> None:
    # left/right/tie: A = L L R T, B = L R R T. p_o = 3/4.
    # A: L 2, R 1, T 1; B: L 1, R 2, T 1. p_e = (2*1 + 1*2 + 1*1) / 16 = 5/16.
    # kappa = (12/16 - 5/16) / (11/16) = 7/11.
    assert cohen_kappa(list("LLRT"), list("LRRT")) == pytest.approx(7 / 11)
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)


def test_fleiss_kappa_of_three_annotators_matches_a_hand_calculation() -> None:
    # 4 items, 3 raters: (pass, fail) counts (3,0), (2,1), (1,2), (0,3).
    # P_i = (sum n_ij^2 - 3) / 6: 1, 1/3, 1/3, 1 -> P = 2/3.
    # p_pass = 6/12 = 0.5, p_fail = 0.5 -> P_e = 0.5. kappa = (2/3 - 1/2) / (1/2) = 1/3.
    counts = [{"pass": 3}, {"pass": 2, "fail": 1}, {"pass": 1, "fail": 2}, {"fail": 3}]
    assert fleiss_kappa(counts) == pytest.approx(1 / 3)
    labels = [["pass"] * 3, ["pass", "pass", "fail"], ["pass", "fail", "fail"], ["fail"] * 3]
    answers = [
        Answer(i, who, verdict=v)
        for i, given in enumerate(labels)
        for who, v in zip(("ann", "bob", "cy"), given, strict=True)
    ]
    got = agreement(answers, per_item=3)
    assert (got.method, got.n_items) == ("fleiss", 4)
    assert got.kappa == pytest.approx(1 / 3)
    assert got.observed == pytest.approx(0.5)


def test_fleiss_kappa_of_the_classic_fourteen_rater_table() -> None:
    # Fleiss (1971) as reproduced on Wikipedia: 10 items, 14 raters, 5 categories;
    # P = 0.378, P_e = 0.213, kappa = 0.210.
    table = [
        (0, 0, 0, 0, 14),
        (0, 2, 6, 4, 2),
        (0, 0, 3, 5, 6),
        (0, 3, 9, 2, 0),
        (2, 2, 8, 1, 1),
        (7, 7, 0, 0, 0),
        (3, 2, 6, 3, 0),
        (2, 5, 3, 2, 2),
        (6, 5, 2, 1, 0),
        (0, 2, 2, 3, 7),
    ]
    counts = [{k: n for k, n in enumerate(row) if n} for row in table]
    assert fleiss_kappa(counts) == pytest.approx(0.20993, abs=1e-4)
    assert fleiss_kappa([{"a": 2}, {"a": 1}]) is None  # unequal raters per item
    assert fleiss_kappa([{"a": 3}, {"a": 3}]) == 1.0


def test_agreement_counts_only_items_with_every_answer_and_a_score_as_a_verdict() -> None:
    answers = [
        Answer(0, "ann", score=0.9),
        Answer(0, "bob", verdict="pass"),
        Answer(1, "ann", verdict="fail"),  # bob has not answered item 1 yet
    ]
    got = agreement(answers, per_item=2)
    assert (got.n_items, got.observed, got.kappa) == (1, 1.0, 1.0)
    assert agreement(answers, per_item=1).method is None


def test_filters_select_failed_disagreeing_and_near_threshold_cells() -> None:
    cells = [
        cell("c0", True, scores={"judge": 0.9, "exact": 1.0}),
        cell("c1", False, scores={"judge": 0.55, "exact": 0.0}),
        cell("c2", None, error="timeout"),
        cell("c3", True, scores={"judge": 0.45, "exact": 1.0}),
    ]
    marks, judges = {"judge": 0.5, "exact": 1.0}, {"judge": 0.5}

    def ids(where: QueueFilter) -> list[str]:
        got = select_cells(cells, where, marks=marks, judges=judges, seed=0)
        assert [i.position for i in got] == list(range(len(got)))
        return [i.case_id for i in got]

    assert ids(QueueFilter("failed")) == ["c1", "c2"]
    assert ids(QueueFilter("disagree")) == ["c1", "c3"]  # judge pass / exact fail and back
    assert ids(QueueFilter("near-threshold", band=0.05)) == ["c1", "c3"]
    assert ids(QueueFilter("near-threshold", scorer="exact", band=0.1)) == ["c0", "c3"]
    with pytest.raises(ValidationError, match="no recorded cell"):
        ids(QueueFilter("near-threshold", band=0.01))
    with pytest.raises(ValidationError) as no_judge:
        select_cells(cells, QueueFilter("near-threshold"), marks=marks, judges={}, seed=0)
    assert no_judge.value.details["reason"] == "no-judge"


def test_a_sample_is_seeded_and_keeps_the_cells_order() -> None:
    cells = [cell(f"c{i:02d}") for i in range(30)]
    take = QueueFilter(sample=5)
    first = select_cells(cells, take, marks={}, judges={}, seed=3)
    again = select_cells(cells, take, marks={}, judges={}, seed=3)
    other = select_cells(cells, take, marks={}, judges={}, seed=4)
    assert [i.case_id for i in first] == [i.case_id for i in again]
    assert [i.case_id for i in first] != [i.case_id for i in other]
    assert [i.case_id for i in first] == sorted(i.case_id for i in first)
    assert len(first) == 5


def test_pairwise_order_is_drawn_from_the_seed_and_undone_in_the_tally() -> None:
    a = [cell(f"c{i}", prompt_version="va") for i in range(40)]
    b = [cell(f"c{i}", prompt_version="vb") for i in range(40)]
    items = pair_cells(a, b, QueueFilter(), marks={}, judges={}, seed=11, match_model=True)
    again = pair_cells(a, b, QueueFilter(), marks={}, judges={}, seed=11, match_model=True)
    assert [i.swapped for i in items] == [i.swapped for i in again]
    assert 0 < sum(i.swapped for i in items) < len(items)  # both orders occur
    for item in items:
        assert item.left == (("r", "vb", "m") if item.swapped else ("r", "va", "m"))
    # Every annotator picks whatever is on the left: a "left" on a swapped item is a vote
    # for version B, so the tally must count B exactly as often as items were swapped.
    answers = [Answer(i.position, "ann", choice="left") for i in items]
    got = tally(items, answers + [Answer(0, "bob", choice="tie")])
    swapped = sum(i.swapped for i in items)
    assert (got.wins_a, got.wins_b, got.ties) == (len(items) - swapped, swapped, 1)
    assert got.a == ("r", "va", "m") and got.b == ("r", "vb", "m")
    assert got.a_rate == pytest.approx((len(items) - swapped + 0.5) / (len(items) + 1))


def test_preferred_undoes_the_order() -> None:
    plain = Item(0, "r", "va", "m", "c", other=("r", "vb", "m"), swapped=False)
    flipped = Item(1, "r", "va", "m", "c", other=("r", "vb", "m"), swapped=True)
    assert [preferred(plain, c) for c in ("left", "right", "tie")] == ["a", "b", "tie"]
    assert [preferred(flipped, c) for c in ("left", "right", "tie")] == ["b", "a", "tie"]


def test_items_are_dealt_round_robin_to_distinct_assignees() -> None:
    dealt = deal(4, ("ann", "bob", "cy"), 2)
    assert dealt == [("ann", "bob"), ("cy", "ann"), ("bob", "cy"), ("ann", "bob")]
    assert all(len(set(d)) == 2 for d in dealt)
    assert deal(2, (), 3) == [(), ()]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"run_ids": ()}, "bad-runs"),
        ({"run_ids": ("r1", "r2")}, "bad-runs"),
        ({"annotators_per_item": 3, "assignees": ("ann", "bob")}, "too-few-assignees"),
        ({"annotators_per_item": 0}, None),
        ({"kind": "triple"}, None),
        ({"assignees": ("ann", " bob")}, None),
    ],
)
def test_bad_queue_settings_are_refused(changes: dict[str, Any], reason: str | None) -> None:
    values: dict[str, Any] = {"id": "q", "name": "", "run_ids": ("r1",), "created_by": "o"}
    with pytest.raises(ValidationError) as refused:
        Queue(**{**values, "created_at": "t", **changes})
    assert refused.value.details.get("reason") == reason
    with pytest.raises(ValidationError):
        QueueFilter(where="odd")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        QueueFilter(sample=0)
