from __future__ import annotations

import pytest

from domain.errors import ConflictError, ValidationError
from domain.evaluation import FairQueue, RunSpec, RunStatus, check_transition, expand_cells


def _spec(**overrides: object) -> RunSpec:
    values: dict[str, object] = {
        "prompt_id": "p",
        "prompt_versions": ("v1", "v2"),
        "models": ("m1", "m2"),
        "dataset_version_id": "d1",
        "case_ids": ("c1", "c2", "c3"),
        "repeats": 2,
    }
    values.update(overrides)
    return RunSpec(**values)  # type: ignore[arg-type]


def test_cells_cover_the_product_and_skip_recorded() -> None:
    spec = _spec()
    cells = list(expand_cells(spec))
    assert len(cells) == spec.total_cells == 24
    assert len({c.key for c in cells}) == 24
    recorded = {c.key for c in cells[:10]}
    assert [c.key for c in expand_cells(spec, recorded)] == [c.key for c in cells[10:]]


def test_cells_are_repeat_major() -> None:
    cells = list(expand_cells(_spec()))
    assert {c.repeat for c in cells[:12]} == {0}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"case_ids": ()}, "empty-dataset"),
        ({"budget_usd": 0.0}, "bad-budget"),
        ({"budget_usd": -1.0}, "bad-budget"),
        ({"budget_usd": float("nan")}, "bad-budget"),
        ({"repeats": 0}, "bad-run"),
        ({"models": ()}, "bad-run"),
        ({"models": ("m", "m")}, "bad-run"),
    ],
)
def test_bad_specs_are_refused(overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(**overrides)
    assert caught.value.details["reason"] == reason


def test_spec_round_trips() -> None:
    spec = _spec(scorers=({"type": "contains", "args": {"value": "x"}},), budget_usd=1.5)
    assert RunSpec.from_dict(spec.to_dict()) == spec


def test_completed_runs_cannot_restart_but_stopped_ones_resume() -> None:
    with pytest.raises(ConflictError):
        check_transition(RunStatus.COMPLETED, RunStatus.RUNNING)
    check_transition(RunStatus.CANCELLED, RunStatus.RUNNING)
    check_transition(RunStatus.BUDGET_EXCEEDED, RunStatus.RUNNING)


def test_fair_queue_alternates_between_runs() -> None:
    queue: FairQueue[int] = FairQueue()
    queue.add("big", range(100))
    queue.add("small", range(4))
    order = []
    while (batch := queue.next_batch(2)) is not None:
        order.append(batch[0])
    assert order[:4] == ["big", "small", "big", "small"]
    assert order.count("small") == 2 and order.count("big") == 50


def test_fair_queue_skips_runs_at_their_cap_and_takes_back_items() -> None:
    queue: FairQueue[int] = FairQueue()
    queue.add("a", range(5))
    queue.add("b", range(5))
    assert queue.next_batch(3, lambda run: 0 if run == "a" else 2) == ("b", [0, 1])
    assert queue.next_batch(3, lambda run: 0) is None
    queue.push_front("b", [0, 1])
    assert queue.next_batch(10, lambda run: 10 if run == "b" else 0) == ("b", [0, 1, 2, 3, 4])
    assert queue.remove("a") == [0, 1, 2, 3, 4]
    assert queue.pending() == 0


def test_a_routed_run_has_one_routed_model_per_version_and_keeps_routing() -> None:
    spec = _spec(routing="cheapest")

    cells = list(expand_cells(spec))

    assert {c.model for c in cells} == {"cheapest(m1|m2)"}
    assert len(cells) == spec.total_cells == 12
    assert RunSpec.from_dict(spec.to_dict()) == spec
    assert RunSpec.from_dict({**_spec().to_dict()} | {"routing": "lowest-latency"}).routing == (
        "lowest-latency"
    )


def test_an_unknown_routing_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="fixed, cheapest, lowest-latency") as caught:
        _spec(routing="fastest")
    assert caught.value.details["reason"] == "bad-routing"
