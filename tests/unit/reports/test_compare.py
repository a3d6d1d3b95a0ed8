from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationError
from domain.reports import ResultRecord, compare, compare_groups, mcnemar_exact, paired_bootstrap


def cell(case_id: str, passed: bool | None, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {"run_id": "r", "prompt_version": "v1", "model": "m"}
    values |= {"score": None if passed is None else float(passed)}
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def side(verdicts: str, **fields: Any) -> list[ResultRecord]:
    """``"PPF-"``: pass, pass, fail, ungraded for cases c0, c1, ..."""
    flags = {"P": True, "F": False, "-": None}
    return [cell(f"c{i}", flags[ch], **fields) for i, ch in enumerate(verdicts)]


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(10, 2, 0.03857421875), (0, 0, 1.0), (5, 5, 1.0), (0, 6, 0.03125), (1, 0, 1.0)],
)
def test_mcnemar_exact_known_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p)
    assert mcnemar_exact(c, b) == pytest.approx(p)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    differences = [((i * 37) % 23) / 23 - 0.4 for i in range(40)]

    first = paired_bootstrap(differences, seed=7)

    assert paired_bootstrap(differences, seed=7) == first
    assert paired_bootstrap(differences, seed=8) != first
    assert first[0] < sum(differences) / len(differences) < first[1]


def test_bootstrap_of_a_constant_is_that_constant() -> None:
    assert paired_bootstrap([0.25] * 5, resamples=50) == (0.25, 0.25)


def test_changes_are_classified_per_case() -> None:
    comparison = compare(side("PFFP-"), side("PPFF-", prompt_version="v2"))

    assert [c.case_id for c in comparison.improved] == ["c1"]
    assert [c.case_id for c in comparison.regressed] == ["c3"]
    assert [c.case_id for c in comparison.unchanged] == ["c0", "c2"]
    assert (comparison.n_pairs, comparison.n_graded_pairs) == (5, 4)
    assert (comparison.pass_rate_a, comparison.pass_rate_b) == (0.5, 0.5)
    assert comparison.pass_rate_difference == 0.0


def test_significant_improvement_names_b() -> None:
    a = side("F" * 10 + "P" * 2 + "P" * 8)
    b = side("P" * 10 + "F" * 2 + "P" * 8, prompt_version="v2")

    comparison = compare(a, b)

    assert comparison.p_value == pytest.approx(0.0386, abs=1e-4)
    assert comparison.winner == "b"
    assert comparison.verdict == "B is better than A (p=0.039)"


def test_significant_regression_names_a() -> None:
    comparison = compare(side("P" * 8), side("F" * 8))

    assert comparison.winner == "a"
    assert comparison.verdict == "A is better than B (p=0.0078)"


def test_no_discordant_pairs_means_p_one() -> None:
    comparison = compare(side("PF"), side("PF"))

    assert comparison.p_value == 1.0
    assert comparison.verdict == "no significant difference (p=1)"
    assert comparison.winner is None


def test_errored_cells_fail_in_pairs() -> None:
    a = [cell("c0", None, error="timeout")]

    comparison = compare(a, side("P"))

    assert [c.case_id for c in comparison.improved] == ["c0"]
    assert comparison.n_score_pairs == 0


def test_cells_on_one_side_only_are_counted_not_paired() -> None:
    comparison = compare(side("PPP"), side("PP"))

    assert (comparison.n_pairs, comparison.n_only_a, comparison.n_only_b) == (2, 1, 0)


def test_score_difference_has_a_bootstrap_interval() -> None:
    a = [cell(f"c{i}", None, score=0.2) for i in range(20)]
    b = [cell(f"c{i}", None, score=0.5 + (i % 3) * 0.1) for i in range(20)]

    comparison = compare(a, b, seed=3)

    assert comparison.score_difference == pytest.approx(0.3 + 0.1 * 19 / 20)
    assert comparison.score_ci is not None
    assert 0 < comparison.score_ci[0] <= comparison.score_difference <= comparison.score_ci[1]
    assert comparison == compare(a, b, seed=3)
    assert comparison.winner == "b"
    assert comparison.verdict.startswith("B scores higher than A (95% CI of the score difference")


def test_nothing_to_compare() -> None:
    comparison = compare(side("-"), side("-"))

    assert comparison.winner is None
    assert comparison.verdict.startswith("nothing to compare")


def test_case_id_key_folds_repeats_by_majority() -> None:
    a = [cell("c0", v, repeat=i) for i, v in enumerate([True, False, False])]
    b = [cell("c0", v, repeat=i) for i, v in enumerate([True, True, False])]

    comparison = compare(a, b, key="case_id")

    assert comparison.n_pairs == 1
    (change,) = comparison.improved
    assert (change.case_id, change.repeat) == ("c0", None)
    assert change.score_a == pytest.approx(1 / 3)


def test_repeat_tie_fails_when_folded() -> None:
    a = [cell("c0", v, repeat=i) for i, v in enumerate([True, False])]

    assert compare(a, side("P"), key="case_id").improved[0].passed_a is False


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown comparison key"):
        compare(side("P"), side("P"), key="model")


def test_a_side_with_several_groups_is_refused() -> None:
    mixed = side("P") + side("P", model="other")

    with pytest.raises(ValidationError) as caught:
        compare(mixed, side("P"))

    assert caught.value.details["reason"] == "mixed-groups"


def test_a_side_with_a_cell_twice_is_refused() -> None:
    twice = side("P") + side("P", run_id="r2")

    with pytest.raises(ValidationError) as caught:
        compare(twice, side("P"))

    assert caught.value.details["reason"] == "duplicate-cell"


def test_compare_groups_picks_groups_out_of_one_run() -> None:
    results = side("F" * 8) + side("P" * 8, prompt_version="v2")

    comparison = compare_groups(results, a=("v1", "m"), b=("v2", "m"))

    assert comparison.verdict == "v2 on m is better than v1 on m (p=0.0078)"
    assert (comparison.label_a, comparison.label_b) == ("v1 on m", "v2 on m")


def test_compare_groups_labels_content_addressed_versions_by_a_short_id() -> None:
    old, new = "a" * 64, "b" * 64
    results = side("F" * 8, prompt_version=old) + side("P" * 8, prompt_version=new)

    comparison = compare_groups(results, a=(old, "m"), b=(new, "m"))

    assert comparison.label_a == f"{'a' * 12} on m"
    assert comparison.verdict.startswith(f"{'b' * 12} on m is better")


def test_compare_groups_refuses_missing_or_equal_groups() -> None:
    with pytest.raises(ValidationError, match="no results for v9 on m"):
        compare_groups(side("P"), a=("v1", "m"), b=("v9", "m"))
    with pytest.raises(ValidationError, match="different"):
        compare_groups(side("P"), a=("v1", "m"), b=("v1", "m"))


def test_alpha_sets_the_bar() -> None:
    a = side("F" * 10 + "P" * 2)
    b = side("P" * 10 + "F" * 2)

    assert compare(a, b, alpha=0.01).winner is None
