"""The viewer's case list: cells grouped by case in the run's group order, its filters and
its pages (pure functions over result records)."""

from __future__ import annotations

from api.ui.cases import MAX_WINDOW, SELECTIONS_KEPT, IndexCache, index_cases, page_of, window_of
from domain.reports import ResultRecord

A, B = ("v1", "m"), ("v2", "m")


def _cell(group: tuple[str, str], case: str, passed: bool | None, **extra: object) -> ResultRecord:
    return ResultRecord(
        run_id="r", prompt_version=group[0], model=group[1], case_id=case, passed=passed,
        output=f"{case} says {passed}", variables={"q": f"question {case}"}, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


RECORDS = [
    _cell(B, "c1", True), _cell(A, "c1", True),  # both pass
    _cell(A, "c2", True), _cell(B, "c2", False, reasons={"icontains": "no Paris"}),  # regressed
    _cell(A, "c3", False), _cell(B, "c3", True),  # improved
    _cell(A, "c4", None, error="timeout"), _cell(B, "c4", None, error="timeout"),  # errors
]  # fmt: skip


def test_groups_follow_the_runs_order_and_cases_sit_side_by_side() -> None:
    index = index_cases(RECORDS, [A, B])
    assert index.groups == (A, B)
    assert [c.case_id for c in index.cases] == ["c1", "c2", "c3", "c4"]
    assert set(index.cases[0].cells) == {A, B}
    assert index_cases(RECORDS, [B, A]).groups == (B, A)


def test_each_filter_keeps_what_it_names() -> None:
    index = index_cases(RECORDS, [A, B])

    def ids(show: str, query: str = "") -> list[str]:
        return [c.case_id for c in index.select(show, query)]  # type: ignore[arg-type]

    assert ids("all") == ["c1", "c2", "c3", "c4"]
    assert ids("failed") == ["c2", "c3", "c4"]
    assert ids("errors") == ["c4"]
    assert ids("regressed") == ["c2"]
    assert ids("improved") == ["c3"]
    assert ids("disagreement") == ["c2", "c3"]
    assert ids("all", "NO PARIS") == ["c2"]  # reasons are searched, case-insensitively
    assert ids("failed", "question c3") == ["c3"]


def test_an_override_counts_instead_of_the_scorers_verdict() -> None:
    overridden = [*RECORDS[:2], _cell(A, "c2", True), _cell(B, "c2", False, override_passed=True)]
    index = index_cases(overridden, [A, B])
    assert [c.case_id for c in index.select("failed")] == []


def test_pages_are_clamped_and_count_the_matches() -> None:
    cases = index_cases(RECORDS, [A, B]).cases
    last = page_of(cases, 99, size=3)
    assert (last.number, last.pages, last.matching) == (2, 2, 4)
    assert [c.case_id for c in last.cases] == ["c4"]
    assert page_of((), 1).pages == 1


def test_a_window_is_clamped_to_the_end_and_to_its_largest_size() -> None:
    cases = [index_cases([_cell(A, f"c{i:03d}", True)]).cases[0] for i in range(300)]
    end = window_of(cases, 290, 20)
    assert (end.start, len(end.cases), end.matching) == (280, 20, 300)
    assert end.cases[-1].case_id == "c299" and end.number == 6 and end.pages == 6
    big = window_of(cases, 0, 10_000)
    assert len(big.cases) == MAX_WINDOW and window_of(cases[:5], 3, 50).start == 0
    assert window_of([], 10, 10).cases == []


def test_selections_are_kept_per_filter_and_text_and_bounded() -> None:
    index = index_cases(RECORDS, [A, B])
    failed = index.select("failed")
    assert index.select("failed") is failed and index.select("failed", "c2") is not failed
    assert [c.case_id for c in index.select("failed", " C2 ")] == ["c2"]
    for i in range(SELECTIONS_KEPT + 1):
        index.select("all", f"q{i}")
    assert index.select("failed") is not failed and index.select("failed") == failed


def test_the_cache_keeps_the_newest_entries_within_its_cells() -> None:
    cache = IndexCache(size=2)
    for key in ("a", "b", "c"):
        cache.put((key,), key)
    assert cache.get(("a",)) is None and cache.get(("c",)) == "c"
    weighed = IndexCache(size=10, max_cells=100)
    weighed.put(("small",), 1, cells=30)
    weighed.put(("big",), 2, cells=80)  # 110 cells: the oldest goes
    assert weighed.get(("small",)) is None and weighed.get(("big",)) == 2
    weighed.put(("huge",), 3, cells=500)  # alone over the bound, it still stays
    assert weighed.get(("huge",)) == 3 and weighed.get(("big",)) is None
