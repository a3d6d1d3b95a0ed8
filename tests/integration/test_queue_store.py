"""Annotation queues on a real database file: claims (Redis leases, and rows in the database
when there is no Redis), answers written as feedback, skips, lapsing leases, the last slot
raced by threads, reassignment, owner scoping, and the upgrade from 0008."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from domain.annotation import QueueFilter
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from domain.feedback import as_effective, with_feedback
from engine.db import SCHEMA_HEAD, _alembic_config, create_db_engine, migrate, table_names
from engine.evaluation.feedback import FeedbackStore
from engine.evaluation.queue_leases import RedisLeases
from engine.evaluation.queue_tables import annotation_claims
from engine.evaluation.queues import QueueStore
from engine.evaluation.runs import RunStore
from engine.redis_client import sync_redis

pytestmark = pytest.mark.integration
CASES = tuple(f"c{i}" for i in range(6))
SPEC = RunSpec("p", ("aaa111", "bbb222"), ("m",), "dv", CASES)


def recorded_run(db: Engine, owner: str = "ann") -> str:
    store = RunStore(db)
    run = store.create(owner, SPEC)
    store.record(
        [
            ResultRow(
                run_id=run.id,
                prompt_version=v,
                model="m",
                case_id=c,
                output=f"{v}:{c}",
                passed=i % 2 == 0,
                score=1.0 if i % 2 == 0 else 0.0,
            )
            for v in SPEC.prompt_versions
            for i, c in enumerate(CASES)
        ]
    )
    return run.id


@pytest.fixture(params=["redis", "db"])
def leases(request: pytest.FixtureRequest) -> RedisLeases | None:
    """Claims as Redis leases (the engine's), or as rows in the database (the CLI alone)."""
    if request.param == "db":
        return None
    return RedisLeases(sync_redis(request.getfixturevalue("redis_url")))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_two_annotators_per_item_each_get_it_once_and_answers_become_feedback(
    migrated_db: Engine,
    leases: RedisLeases | None,
) -> None:
    run_id = recorded_run(migrated_db)
    runs = RunStore(migrated_db)
    store = QueueStore(migrated_db, runs, leases=leases)
    queue = store.create(
        "ann", [run_id], where=QueueFilter("failed"), annotators_per_item=2, name="fails"
    )
    assert queue.item_count == 6  # three failing cases × two versions
    first = store.next("ann", queue.id, "ann")
    assert first is not None and first.item.position == 0
    assert store.next("ann", queue.id, "ann").item.position == 0  # type: ignore[union-attr]
    other = store.next("ann", queue.id, "bob")
    assert other is not None and other.item.position == 0  # the item needs two answers
    third = store.next("ann", queue.id, "cy")
    assert third is not None and third.item.position == 1  # both slots of item 0 are claimed
    assert first.cells[0].output == f"{first.item.prompt_version}:{first.item.case_id}"
    store.submit("ann", queue.id, 0, "ann", verdict="pass", comment="fine")
    store.submit("ann", queue.id, 0, "bob", verdict="pass")
    with pytest.raises(ConflictError) as twice:
        store.submit("ann", queue.id, 0, "bob", verdict="fail")
    assert twice.value.details["reason"] == "already-answered"
    with pytest.raises(ConflictError) as full:
        store.submit("ann", queue.id, 0, "cy", verdict="fail")
    assert full.value.details["reason"] == "item-taken"
    feedbacks = FeedbackStore(migrated_db, runs).for_run("ann", run_id)
    assert [(f.author, f.verdict, f.case_id) for f in feedbacks] == [
        ("ann", "pass", first.item.case_id),
        ("bob", "pass", first.item.case_id),
    ]
    cells = with_feedback(runs.results("ann", run_id), feedbacks)
    rate = sum(bool(as_effective(c).verdict) for c in cells) / len(cells)
    assert rate == pytest.approx(7 / 12)  # 6 passing cells + the one overridden
    nxt = store.next("ann", queue.id, "ann")
    assert nxt is not None and nxt.item.position == 1
    progress = store.progress("ann", queue.id)
    assert (progress.items, progress.complete, progress.answers, progress.needed) == (6, 1, 2, 12)
    assert {a.annotator: a.done for a in progress.annotators} == {"ann": 1, "bob": 1}


def test_a_skip_frees_the_slot_and_a_lapsed_claim_is_taken_over(
    migrated_db: Engine, leases: RedisLeases | None
) -> None:
    run_id = recorded_run(migrated_db)
    clock = Clock()
    store = QueueStore(migrated_db, RunStore(migrated_db), lease_s=60, clock=clock, leases=leases)
    queue = store.create("ann", [run_id], where=QueueFilter(sample=2), seed=5)
    assert store.next("ann", queue.id, "ann").item.position == 0  # type: ignore[union-attr]
    assert store.next("ann", queue.id, "bob").item.position == 1  # type: ignore[union-attr]
    store.skip("ann", queue.id, 0, "ann")
    assert store.next("ann", queue.id, "cy").item.position == 0  # type: ignore[union-attr]
    assert store.next("ann", queue.id, "ann") is None  # skipped 0; 1 and 0 are claimed
    clock.now += 61  # bob's claim on item 1 lapses
    assert store.next("ann", queue.id, "ann").item.position == 1  # type: ignore[union-attr]
    store.submit("ann", queue.id, 1, "ann", score=0.3)
    with pytest.raises(ConflictError):
        store.submit("ann", queue.id, 1, "bob", verdict="pass")
    with pytest.raises(ConflictError):
        store.skip("ann", queue.id, 0, "ann")
    progress = store.progress("ann", queue.id)
    assert (progress.answers, progress.skipped, progress.complete) == (1, 1, 1)


def test_threads_racing_for_the_last_slot_never_both_win(
    migrated_db: Engine, leases: RedisLeases | None
) -> None:
    run_id = recorded_run(migrated_db)
    store = QueueStore(migrated_db, RunStore(migrated_db), leases=leases)
    queue = store.create("ann", [run_id], where=QueueFilter(sample=1), annotators_per_item=2)
    got: dict[str, int | None] = {}
    barrier = threading.Barrier(8)

    def take(who: str) -> None:
        barrier.wait()
        item = store.next("ann", queue.id, who)
        got[who] = None if item is None else item.item.position

    threads = [threading.Thread(target=take, args=(f"a{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w for w, p in got.items() if p == 0).__len__() == 2
    with migrated_db.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(annotation_claims)).scalar_one()
    assert claims == (0 if leases else 2)
    if leases:
        assert leases.held(queue.id, 0, store.clock()) == 2


def test_twenty_annotators_in_a_closed_loop_never_run_out_of_tries(
    migrated_db: Engine, leases: RedisLeases | None
) -> None:
    runs = RunStore(migrated_db)
    cases = tuple(f"c{i:03d}" for i in range(300))  # each wanting 2 answers: 600 slots
    run_id = runs.create("ann", RunSpec("p", ("aaa111",), ("m",), "dv", cases)).id
    runs.record(
        [
            ResultRow(run_id=run_id, prompt_version="aaa111", model="m", case_id=c, output=c)
            for c in cases
        ]  # fmt: skip
    )
    store = QueueStore(migrated_db, runs, leases=leases)
    queue = store.create("ann", [run_id], annotators_per_item=2)
    failures: list[BaseException] = []
    answered: list[tuple[str, int]] = []
    barrier = threading.Barrier(20)

    def work(who: str) -> None:
        barrier.wait()  # all aim at the first open item at once
        try:
            while (item := store.next("ann", queue.id, who)) is not None:
                store.submit("ann", queue.id, item.item.position, who, verdict="pass")
                answered.append((who, item.item.position))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(f"a{i:02d}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(answered) == 600 == len(set(answered))
    assert store.progress("ann", queue.id).complete == 300


def test_assignees_get_only_their_items_and_others_are_refused(
    migrated_db: Engine, leases: RedisLeases | None
) -> None:
    run_id = recorded_run(migrated_db)
    store = QueueStore(migrated_db, RunStore(migrated_db), leases=leases)
    queue = store.create("ann", [run_id], assignees=["ann", "bob", "cy"], annotators_per_item=2)
    seen = []
    while (item := store.next("ann", queue.id, "cy")) is not None:
        seen.append(item.item.position)
        store.submit("ann", queue.id, item.item.position, "cy", verdict="fail")
    # 12 items dealt two each, round robin over (ann, bob, cy): cy holds 8 of them.
    assert seen == [i for i in range(12) if "cy" in [("ann", "bob", "cy")[(2 * i + j) % 3]
                                                      for j in range(2)]]  # fmt: skip
    with pytest.raises(ValidationError) as outsider:
        store.next("ann", queue.id, "dan")
    assert outsider.value.details["reason"] == "not-assigned"
    with pytest.raises(ValidationError):
        store.submit("ann", queue.id, 1, "bob", verdict="pass")  # item 1 is (cy, ann)
    progress = store.progress("ann", queue.id)
    assert {a.annotator: a.assigned for a in progress.annotators} == {"ann": 8, "bob": 8, "cy": 8}


def test_bad_answers_write_nothing(migrated_db: Engine) -> None:
    run_id = recorded_run(migrated_db)
    runs = RunStore(migrated_db)
    store = QueueStore(migrated_db, runs)
    single = store.create("ann", [run_id])
    pairwise = store.create("ann", [run_id], kind="pairwise")
    with pytest.raises(ValidationError, match="verdict or a score"):
        store.submit("ann", single.id, 0, "ann", comment="hm")
    with pytest.raises(ValidationError, match="within"):
        store.submit("ann", single.id, 0, "ann", score=3.0)
    with pytest.raises(ValidationError):
        store.submit("ann", single.id, 0, "ann", verdict="pass", choice="left")
    with pytest.raises(ValidationError, match="choice only"):
        store.submit("ann", pairwise.id, 0, "ann", verdict="pass")
    with pytest.raises(ValidationError):
        store.submit("ann", pairwise.id, 0, "ann", choice="up")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.submit("ann", single.id, 99, "ann", verdict="pass")
    assert FeedbackStore(migrated_db, runs).for_run("ann", run_id) == []
    assert store.progress("ann", single.id).answers == 0
    with pytest.raises(ValidationError) as empty:
        store.create("ann", [run_id], where=QueueFilter("near-threshold"))
    assert empty.value.details["reason"] == "no-judge"
    with pytest.raises(ValidationError):
        store.create("ann", [run_id], kind="pairwise", versions=["aaa", "zzz"])


def test_pairwise_items_compare_two_versions_and_the_tally_undoes_the_order(
    migrated_db: Engine,
    leases: RedisLeases | None,
) -> None:
    run_id = recorded_run(migrated_db)
    store = QueueStore(migrated_db, RunStore(migrated_db), leases=leases)
    queue = store.create("ann", [run_id], kind="pairwise", versions=["bbb", "aaa"], seed=2)
    assert queue.versions == ("bbb222", "aaa111") and queue.item_count == 6
    items = store.items("ann", queue.id)
    for item in items:
        view = store.next("ann", queue.id, "ann")
        assert view is not None and view.item == item
        assert view.left.prompt_version == ("aaa111" if item.swapped else "bbb222")
        store.submit("ann", queue.id, item.position, "ann", choice="left")
    got = store.tally("ann", queue.id)
    swapped = sum(i.swapped for i in items)
    assert got.a == (run_id, "bbb222", "m")
    assert (got.wins_a, got.wins_b, got.ties) == (6 - swapped, swapped, 0)
    with pytest.raises(ValidationError):
        store.tally("ann", store.create("ann", [run_id]).id)


def test_another_owners_queue_and_runs_are_not_found(migrated_db: Engine) -> None:
    run_id = recorded_run(migrated_db, owner="ann")
    store = QueueStore(migrated_db, RunStore(migrated_db))
    queue = store.create("ann", [run_id])
    with pytest.raises(NotFoundError):
        store.create("bob", [run_id])
    for call in (
        lambda: store.get("bob", queue.id),
        lambda: store.next("bob", queue.id, "bob"),
        lambda: store.submit("bob", queue.id, 0, "bob", verdict="pass"),
        lambda: store.skip("bob", queue.id, 0, "bob"),
        lambda: store.progress("bob", queue.id),
        lambda: store.agreement("bob", queue.id),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.list("bob") == []
    assert [q.id for _, q in store.list("ann")] == [queue.id]


def test_upgrading_from_0008_adds_the_queue_tables(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite+libsql:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(db), "0008")
    assert "annotation_queues" not in table_names(db)
    run_id = recorded_run(db)
    FeedbackStore(db, RunStore(db)).add("ann", run_id, "c1", version="aaa", verdict="fail")
    assert migrate(db) == SCHEMA_HEAD
    assert {"annotation_queues", "annotation_items", "annotation_answers"} <= set(table_names(db))
    store = QueueStore(db, RunStore(db))
    queue = store.create("ann", [run_id])
    assert store.next("ann", queue.id, "ann") is not None
    assert len(FeedbackStore(db, RunStore(db)).for_run("ann", run_id)) == 1
    db.dispose()


def test_filters_read_the_runs_scorer_specs_for_their_pass_marks(migrated_db: Engine) -> None:
    judge = {"type": "llm-judge", "name": "judge", "args": {"model": "m", "rubric": "r"}}
    contains = {"type": "icontains", "args": {"value": "x"}}
    spec = RunSpec("p", ("aaa111",), ("m",), "dv", ("c0", "c1", "c2"), (judge, contains))
    runs = RunStore(migrated_db)
    run = runs.create("ann", spec)
    # (judge, icontains): c0 both pass; c1 judge 0.55 passes, icontains fails; c2 both fail.
    scores = {"c0": (0.9, 1.0), "c1": (0.55, 0.0), "c2": (0.2, 0.0)}
    runs.record(
        [
            ResultRow(
                run_id=run.id,
                prompt_version="aaa111",
                model="m",
                case_id=c,
                passed=j >= 0.5 and k >= 1.0,
                scores={"judge": j, "icontains": k},
            )
            for c, (j, k) in scores.items()
        ]  # fmt: skip
    )
    store = QueueStore(migrated_db, runs)

    def cases(**where: Any) -> list[str]:
        queue = store.create("ann", [run.id], where=QueueFilter(**where))
        return [i.case_id for i in store.items("ann", queue.id)]

    assert cases(where="disagree") == ["c1"]  # judge mark 0.5, icontains mark 1.0
    assert cases(where="near-threshold", band=0.1) == ["c1"]  # 0.55 is 0.05 from 0.5
    assert cases(where="near-threshold", band=0.3) == ["c1", "c2"]
    assert cases(where="failed") == ["c1", "c2"]


def test_reassign_moves_only_open_unanswered_items_and_ends_their_claims(
    migrated_db: Engine, leases: RedisLeases | None
) -> None:
    run_id = recorded_run(migrated_db)
    store = QueueStore(migrated_db, RunStore(migrated_db), leases=leases)
    queue = store.create("ann", [run_id], assignees=["ann", "bob"])  # 12 items, alternating
    first = store.next("ann", queue.id, "ann")
    assert first is not None and first.item.position == 0
    store.submit("ann", queue.id, 0, "ann", verdict="pass")
    held = store.next("ann", queue.id, "ann")
    assert held is not None and held.item.position == 2
    store.skip("ann", queue.id, 4, "ann")
    with pytest.raises(ConflictError) as stuck:  # 0 answered, 1 is bob's: nothing moves
        store.reassign("ann", queue.id, "ann", "dan", positions=[0, 1, 6])
    assert stuck.value.details["positions"] == [0, 1]
    with pytest.raises(ValidationError):  # not an assignee yet
        store.next("ann", queue.id, "dan")
    moved = store.reassign("ann", queue.id, "ann", "dan")
    assert moved == [2, 6, 8, 10]  # 0 answered and 4 skipped stay with ann
    assert store.get("ann", queue.id).assignees == ("ann", "bob", "dan")
    assert store.next("ann", queue.id, "ann") is None  # ann's claim on 2 ended with the move
    taken = store.next("ann", queue.id, "dan")
    assert taken is not None and taken.item.position == 2
    with pytest.raises(ValidationError) as not_theirs:
        store.submit("ann", queue.id, 6, "ann", verdict="pass")
    assert not_theirs.value.details["reason"] == "not-assigned"
    store.submit("ann", queue.id, 2, "dan", verdict="fail")
    assert store.reassign("ann", queue.id, "dan", "bob", positions=[6]) == [6]
    progress = {
        a.annotator: (a.done, a.assigned) for a in store.progress("ann", queue.id).annotators
    }
    assert progress == {"ann": (1, 2), "bob": (0, 7), "dan": (1, 3)}
    with pytest.raises(ValidationError) as open_queue:
        store.reassign("ann", store.create("ann", [run_id]).id, "ann", "dan")
    assert open_queue.value.details["reason"] == "no-assignees"
    with pytest.raises(NotFoundError):
        store.reassign("bob", queue.id, "ann", "dan")


def test_redis_leases_honour_the_claims_a_process_without_redis_wrote(
    migrated_db: Engine, redis_url: str
) -> None:
    run_id = recorded_run(migrated_db)
    rows = QueueStore(migrated_db, RunStore(migrated_db))
    leased = QueueStore(
        migrated_db, RunStore(migrated_db), leases=RedisLeases(sync_redis(redis_url))
    )
    queue = rows.create("ann", [run_id], where=QueueFilter(sample=3))
    assert rows.next("ann", queue.id, "cli").item.position == 0  # type: ignore[union-attr]
    assert leased.next("ann", queue.id, "web").item.position == 1  # type: ignore[union-attr]
    with pytest.raises(ConflictError) as taken:
        leased.submit("ann", queue.id, 0, "other", verdict="pass")
    assert taken.value.details["reason"] == "item-taken"
    leased.submit("ann", queue.id, 1, "web", verdict="pass")
    rows.submit("ann", queue.id, 0, "cli", verdict="fail")
    assert leased.progress("ann", queue.id).complete == 2
