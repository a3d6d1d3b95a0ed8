"""Prompt commands run in-process (``LocalCommands``) against a real database file, beside
other writers: what the CLI does instead of starting the shard actors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from domain.errors import ConflictError
from domain.prompts import Template
from engine.db import create_db_engine, migrate
from engine.prompts import LocalCommands
from engine.prompts import commands as cmd
from engine.prompts.lru import LRU
from engine.sdk.prompts import Prompts

pytestmark = pytest.mark.integration


def writers(url: str, count: int, *, cached: bool = False) -> list[Prompts]:
    """``count`` writers as separate processes would be: one DB engine each."""
    dbs = [create_db_engine(url) for _ in range(count)]
    migrate(dbs[0])
    return [
        Prompts(db=db, owner="o", shards=LocalCommands(db, cache=LRU(8) if cached else None))
        for db in dbs
    ]


def test_parallel_direct_writers_lose_no_update(tmp_path: Path) -> None:
    # stdlib sqlite: libSQL keeps the GIL while it waits for a lock (threads would stall)
    prompts = writers(f"sqlite:///{tmp_path / 'p.db'}", 4)
    prompts[0].create("busy", "v0 {{ x }}")

    def task(worker: int) -> list[str]:
        landed = []
        for i in range(5):
            try:
                commit = prompts[worker].commit("busy", f"v{worker}.{i} {{{{ x }}}}")
            except ConflictError as exc:  # lost the race twice: refused, never overwritten
                assert exc.details["reason"] == "concurrent-update"
                continue
            landed.append(commit.id)
        return landed

    with ThreadPoolExecutor(max_workers=4) as pool:
        landed = [version for ids in pool.map(task, range(4)) for version in ids]
    log = prompts[0].log("busy", limit=100)
    assert {v.id for v in log[:-1]} == set(landed)
    for newer, older in zip(log, log[1:], strict=False):
        assert newer.parents == (older.id,)


def test_a_cached_aggregate_behind_the_store_is_reloaded(tmp_path: Path) -> None:
    shard_like, cli = writers(f"sqlite+libsql:///{tmp_path / 'p.db'}", 2, cached=True)
    shard_like.create("greeter", "Hello {{ name }}")
    shard_like.commit("greeter", "Hi {{ name }}")  # cached after this command

    moved = cli.commit("greeter", "Hey {{ name }}")

    on_top = shard_like.commit("greeter", "Yo {{ name }}", parent=moved.id)
    assert on_top.parents == (moved.id,)
    assert shard_like.label("greeter", "production", moved.id).id == moved.id


def test_a_command_delivered_twice_is_answered_from_its_record(tmp_path: Path) -> None:
    (prompts,) = writers(f"sqlite+libsql:///{tmp_path / 'p.db'}", 1)
    info = prompts.create("greeter", "Hello {{ name }}")
    command = cmd.CommitVersion(
        owner="o", actor="o", prompt_id=info.id, template=Template("Hi {{ name }}")
    )
    first = prompts.shards.execute(command)
    second = prompts.shards.execute(command)
    assert first.version == second.version
    assert len(prompts.log("greeter")) == 2
