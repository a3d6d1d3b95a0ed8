"""Prompt commands through real `PromptShard` actors (Ray) and a real database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from actors.prompt_shards import ShardPool, shard_index
from domain.errors import ConflictError, NexusError, NotFoundError, ValidationError
from domain.prompts import Template
from engine.db import create_db_engine, migrate
from engine.prompts import commands as cmd
from engine.prompts.tables import metadata, prompt_events
from engine.sdk.prompts import Prompts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite+libsql", "sqlite"])
def database(
    request: pytest.FixtureRequest,
    ray_cluster: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Engine, ShardPool]]:
    url = f"{request.param}:///{tmp_path_factory.mktemp('shards') / 'prompts.db'}"
    db = create_db_engine(url)
    migrate(db)
    pool = ShardPool(url, size=2)
    yield db, pool
    pool.close()
    db.dispose()


@pytest.fixture
def prompts(database: tuple[Engine, ShardPool]) -> Prompts:
    """A fresh owner per test: owners see nothing of each other, so tests stay apart."""
    db, pool = database
    return Prompts(db=db, owner=f"user-{uuid.uuid4().hex[:8]}", shards=pool)


def row_counts(prompts: Prompts) -> dict[str, int]:
    with prompts._db.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def event_count(prompts: Prompts, prompt_id: str) -> int:
    e = prompt_events.c
    query = select(func.count()).where(e.aggregate_id == prompt_id, e.owner == prompts.owner)
    with prompts._db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def assert_linear(prompts: Prompts, name: str, expected: int) -> list[str]:
    log = prompts.log(name, limit=1000)
    assert len(log) == expected == len({v.id for v in log})
    for newer, older in zip(log, log[1:], strict=False):
        assert newer.parents == (older.id,)
    assert [v.number for v in log] == list(range(expected, 0, -1))
    return [v.message for v in log]


def test_fifty_concurrent_commits_make_a_linear_history(prompts: Prompts) -> None:
    prompts.create("busy", "v0 {{ x }}")

    def task(worker: int) -> list[str]:
        return [
            prompts.commit("busy", f"v{worker}.{i} {{{{ x }}}}", message=f"{worker}.{i}").id
            for i in range(5)
        ]

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = [version for batch in pool.map(task, range(10)) for version in batch]
    assert len(set(ids)) == 50
    messages = assert_linear(prompts, "busy", 51)
    assert sorted(messages[:-1]) == sorted(f"{w}.{i}" for w in range(10) for i in range(5))
    info = prompts.get("busy")
    assert (info.version_count, info.seq) == (51, 3 + 50 * 2)
    assert event_count(prompts, info.id) == 103


def _diverge(prompts: Prompts) -> None:
    prompts.branch("base", "side")
    prompts.commit("base", "side {{ name }}", branch="side")
    prompts.commit("base", "main {{ name }}")


BAD_INPUT: dict[str, tuple[Callable[[Prompts], object], type[NexusError], str]] = {
    "unknown variable": (
        lambda p: p.render("base", {"name": "Ada", "age": 3}, strict=True),
        ValidationError,
        "unknown-variables",
    ),
    "duplicate name": (lambda p: p.create("base", "again"), ConflictError, "duplicate-name"),
    "duplicate name on rename": (
        lambda p: p.update("other", name="base"),
        ConflictError,
        "duplicate-name",
    ),
    "stale parent": (
        lambda p: p.commit("base", "late {{ name }}", parent=p.log("base")[-1].id),
        ConflictError,
        "stale-parent",
    ),
    "merge conflict": (lambda p: p.merge("base", "side"), ConflictError, "merge-conflict"),
    "label to a missing commit": (
        lambda p: p.label("base", "production", "0" * 64),
        NotFoundError,
        "unknown-ref",
    ),
    "control characters in a name": (
        lambda p: p.create("bad\x07name", "x"),
        ValidationError,
        "control-characters",
    ),
    "control characters in a branch": (
        lambda p: p.branch("base", "feat\x1bure"),
        ValidationError,
        "control-characters",
    ),
    "1 MB template": (
        lambda p: p.commit("base", "x" * 1_000_000),
        ValidationError,
        "template-too-large",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_a_domain_error_and_changes_nothing(prompts: Prompts, case: str) -> None:
    prompts.create("base", "Hello {{ name }}")
    prompts.commit("base", "Hi {{ name }}")
    prompts.create("other", "Other")
    _diverge(prompts)
    command, error, reason = BAD_INPUT[case]
    before = row_counts(prompts)
    with pytest.raises(error) as info:
        command(prompts)
    assert type(info.value) is error, "the domain error itself, not a Ray wrapper"
    assert info.value.details["reason"] == reason
    assert row_counts(prompts) == before
    assert prompts.commit("base", f"still fine {case}").number > 0


def test_killing_a_shard_midway_loses_no_committed_event(prompts: Prompts) -> None:
    import ray

    info = prompts.create("survivor", "v0")
    shard = prompts.shards.handle(info.id)
    pid_before = ray.get(shard.stats.remote())["pid"]
    started = threading.Event()

    def task(worker: int) -> list[str]:
        done = []
        for i in range(5):
            done.append(prompts.commit("survivor", f"v{worker}.{i}", message=f"{worker}.{i}").id)
            started.set()
        return done

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(task, worker) for worker in range(4)]
        started.wait(60)
        ray.kill(shard, no_restart=False)
        ids = [version for future in futures for version in future.result(timeout=120)]
    after = prompts.commit("survivor", "after the crash", message="after")
    assert ray.get(shard.stats.remote())["pid"] != pid_before
    assert len(set(ids)) == 20
    messages = assert_linear(prompts, "survivor", 22)
    assert messages[0] == "after" and after.number == 22
    assert sorted(messages[1:-1]) == sorted(f"{w}.{i}" for w in range(4) for i in range(5))
    assert event_count(prompts, info.id) == 3 + 21 * 2


def test_a_command_delivered_twice_is_applied_once(prompts: Prompts) -> None:
    info = prompts.create("once", "v0")
    command = cmd.CommitVersion(
        owner=prompts.owner,
        actor=prompts.owner,
        prompt_id=info.id,
        template=Template.from_text("v1"),
        command_id="retry-me",
    )
    first = prompts.shards.execute(command)
    second = prompts.shards.execute(command)
    assert first.version == second.version and first.version is not None
    assert event_count(prompts, info.id) == 5


def test_workflow_through_the_actors_matches_the_read_models(prompts: Prompts) -> None:
    created = prompts.create(
        "flow", "Hello {{ name }}", system="Be brief.", settings={"model": "m"}, tags=["t"]
    )
    assert created.head == prompts.head("flow").id
    assert prompts.head("flow").template.kind == "chat"
    v2 = prompts.commit("flow", settings={"model": "m", "temperature": 0.5}, message="warmer")
    prompts.branch("flow", "exp")
    v3 = prompts.commit("flow", "Hey {{ name }}", branch="exp")
    assert prompts.merge("flow", "exp").outcome == "fast-forward"
    assert prompts.label("flow", "production", v2.id) == v2
    reverted = prompts.revert("flow", "production")
    assert reverted.template == v2.template and reverted.parents == (v3.id,)
    assert prompts.diff("flow", v2.id, v3.id).changes == ("template",)
    renamed = prompts.update("flow", name="flow2", description="renamed")
    assert prompts.get("flow2") == renamed
    assert prompts.archive("flow2").archived and prompts.list() == []
    with pytest.raises(ConflictError):
        prompts.commit("flow2", "nope")
    assert prompts.restore("flow2") == prompts.get("flow2")
    assert prompts.unlabel("flow2", "production").labels == {}
    assert prompts.delete_branch("flow2", "exp").branches.keys() == {"main"}
    assert [p.name for p in prompts.search("flow", tag="t")] == ["flow2"]


def test_owners_are_isolated_through_the_sdk(
    prompts: Prompts, database: tuple[Engine, ShardPool]
) -> None:
    info = prompts.create("mine", "secret")
    db, pool = database
    other = Prompts(db=db, owner=f"{prompts.owner}-other", shards=pool)
    with pytest.raises(NotFoundError):
        other.get(info.id)
    sneaky = cmd.CommitVersion(
        owner=other.owner, actor=other.owner, prompt_id=info.id, template=Template.from_text("x")
    )
    with pytest.raises(NotFoundError):
        pool.execute(sneaky)
    assert other.create("mine", "my own").name == "mine"


def test_prompts_map_to_shards_by_a_stable_hash(prompts: Prompts) -> None:
    assert shard_index("abc", 2) == shard_index("abc", 2) == 1
    spread = {shard_index(uuid.uuid4().hex, 4) for _ in range(200)}
    assert spread == {0, 1, 2, 3}
    assert prompts.shards.handle("abc") == prompts.shards.handles()[1]


def test_pools_for_different_databases_get_their_own_shards(
    database: tuple[Engine, ShardPool], tmp_path: Path
) -> None:
    import ray

    _, pool = database
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = ShardPool(other_url, size=2)
    mine = {ray.get(h.database_url.remote()) for h in pool.handles()}
    theirs = {ray.get(h.database_url.remote()) for h in other.handles()}
    assert mine == {pool.database_url}
    assert theirs == {other_url}
