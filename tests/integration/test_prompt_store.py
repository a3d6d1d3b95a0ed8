"""The prompt store and its read side against real databases (libSQL and stdlib sqlite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from domain.errors import ConflictError, NexusError, NotFoundError, ValidationError
from domain.prompts import ModelSettings, Prompt, Template
from engine.db import create_db_engine, migrate
from engine.prompts import commands as cmd
from engine.prompts.queries import PromptQueries
from engine.prompts.store import PromptStore
from engine.prompts.tables import PROJECTIONS, metadata, prompt_events, prompts

pytestmark = pytest.mark.integration

OWNER = "alice"


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


class Writer:
    """What a shard does, without Ray: run a command on the aggregate, append its events."""

    def __init__(self, store: PromptStore, owner: str = OWNER) -> None:
        self.store, self.owner, self.cache = store, owner, {}

    def __call__(self, kind: type[cmd.Command], prompt_id: str, **fields: Any) -> cmd.Outcome:
        command = kind(owner=self.owner, actor=self.owner, prompt_id=prompt_id, **fields)
        current = self.cache.get(prompt_id) or self.store.find(self.owner, prompt_id)
        prompt, outcome = cmd.run(current, command)
        self.store.append(prompt, command, outcome)
        self.cache[prompt_id] = prompt
        return outcome

    def create(self, prompt_id: str, name: str, text: str = "Hello {{ name }}", **kw: Any) -> str:
        self(cmd.CreatePrompt, prompt_id, name=name, template=Template.from_text(text), **kw)
        return prompt_id


def commit(write: Writer, prompt_id: str, text: str, **fields: Any) -> str:
    outcome = write(cmd.CommitVersion, prompt_id, template=Template.from_text(text), **fields)
    assert outcome.version_id is not None
    return outcome.version_id


def all_rows(db: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with db.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def rich_history(write: Writer) -> None:
    settings = ModelSettings(model="gpt-4o-mini", temperature=0.2)
    write.create("p1", "greeter", settings=settings, tags=("onboarding", "demo"))
    v2 = commit(write, "p1", "Hi {{ name }}", message="shorter")
    write(cmd.CreateBranch, "p1", name="experiment", start=v2)
    commit(write, "p1", "Hey {{ name }}!", branch="experiment")
    commit(write, "p1", "Hello there, {{ name }}")
    write(cmd.MergeBranch, "p1", source="experiment", strategy="theirs")
    write(cmd.MoveLabel, "p1", label="production", to=v2)
    write(cmd.MoveLabel, "p1", label="staging", to="main")
    write(cmd.DeleteLabel, "p1", label="staging")
    write(cmd.RevertVersion, "p1", to="production")
    write(cmd.DeleteBranch, "p1", name="experiment")
    write(cmd.ChangeDetails, "p1", name="welcomer", tags=("onboarding",))
    write.create("p2", "summarise", "Summarise: {{ doc }}", description="short summaries")
    write(cmd.ArchivePrompt, "p2")


def test_events_and_projections_are_written_together(db: Engine) -> None:
    write, queries = Writer(PromptStore(db)), PromptQueries(db, OWNER)
    write.create("p1", "greeter", tags=("demo",))
    v2 = commit(write, "p1", "Hi {{ name }}", message="shorter")
    info = queries.get("greeter")
    assert (info.id, info.head, info.version_count, info.seq) == ("p1", v2, 2, 5)
    assert info.branches == {"main": v2} and info.tags == ("demo",)
    assert [v.number for v in queries.log("greeter")] == [2, 1]
    assert queries.head("p1").template.text == "Hi {{ name }}"
    replayed = PromptStore(db).load(OWNER, "p1")
    assert replayed.snapshot() == write.cache["p1"].snapshot()


def test_appending_a_taken_seq_is_a_conflict_and_writes_nothing(db: Engine) -> None:
    store = PromptStore(db)
    Writer(store).create("p1", "greeter")
    first, second = store.load(OWNER, "p1"), store.load(OWNER, "p1")
    first.commit(actor=OWNER, template=Template.from_text("one"))
    store.append(first)
    second.commit(actor=OWNER, template=Template.from_text("two"))
    before = all_rows(db)
    with pytest.raises(ConflictError) as info:
        store.append(second)
    assert info.value.details["reason"] == "concurrent-update"
    assert all_rows(db) == before
    assert second.pending_events, "a failed append leaves the aggregate dirty for the caller"


def test_duplicate_names_per_owner_are_refused_on_create_and_rename(db: Engine) -> None:
    write = Writer(PromptStore(db))
    write.create("p1", "greeter")
    write.create("p2", "other")
    before = all_rows(db)
    with pytest.raises(ConflictError) as created:
        write.create("p3", "greeter")
    with pytest.raises(ConflictError) as renamed:
        write(cmd.ChangeDetails, "p2", name="greeter")
    for error in (created.value, renamed.value):
        assert error.details == {"reason": "duplicate-name", "owner": OWNER, "name": "greeter"}
    assert all_rows(db) == before
    Writer(PromptStore(db), owner="bob").create("p4", "greeter")  # another owner may


def test_owners_never_see_each_other(db: Engine) -> None:
    store = PromptStore(db)
    Writer(store).create("p1", "greeter", tags=("demo",))
    bob = PromptQueries(db, "bob")
    assert store.find("bob", "p1") is None
    for query in (lambda: bob.get("greeter"), lambda: bob.get("p1"), lambda: bob.log("p1")):
        with pytest.raises(NotFoundError):
            query()
    assert bob.search() == [] and bob.search(tag="demo") == []
    with pytest.raises(NotFoundError):
        Writer(store, owner="bob")(cmd.CommitVersion, "p1", template=Template.from_text("x"))


def test_rebuild_regenerates_identical_projection_rows(db: Engine) -> None:
    store = PromptStore(db)
    rich_history(Writer(store))
    Writer(store, owner="bob").create("b1", "greeter")
    before = all_rows(db)
    with db.begin() as conn:  # damage alice's read models in every table
        for table in PROJECTIONS:
            conn.execute(delete(table).where(table.c.owner == OWNER))
        conn.execute(update(prompts).where(prompts.c.id == "b1").values(name="bob's"))
    report = store.rebuild(OWNER)
    assert (report.prompts, report.events) == (2, 23)
    after = all_rows(db)
    assert {k: v for k, v in after.items() if k != "prompts"} == {
        k: v for k, v in before.items() if k != "prompts"
    }
    alice = [row for row in after["prompts"] if row[1] == OWNER]
    assert alice == [row for row in before["prompts"] if row[1] == OWNER]
    assert store.rebuild("bob").prompts == 1
    assert all_rows(db) == before


def test_log_pages_follow_first_parents_with_offset_and_cursor(db: Engine) -> None:
    write, queries = Writer(PromptStore(db)), PromptQueries(db, OWNER)
    write.create("p1", "greeter")
    ids = [commit(write, "p1", f"text {i}") for i in range(9)]
    page = queries.log("greeter", limit=4)
    assert [v.number for v in page] == [10, 9, 8, 7]
    assert [v.id for v in page] == ids[::-1][:4]
    assert [v.number for v in queries.log("greeter", limit=3, offset=4)] == [6, 5, 4]
    assert [v.number for v in queries.log("greeter", limit=4, before=page[-1].id)] == [6, 5, 4, 3]
    assert [v.number for v in queries.log("greeter", ids[2], limit=50)] == [4, 3, 2, 1]
    with pytest.raises(NotFoundError) as cursor:
        queries.log("greeter", ids[2], before=ids[5])
    assert cursor.value.details["reason"] == "unknown-cursor"
    with pytest.raises(ValidationError):
        queries.log("greeter", limit=-1)


def test_refs_resolve_like_the_aggregate(db: Engine) -> None:
    store = PromptStore(db)
    write, queries = Writer(store), PromptQueries(db, OWNER)
    rich_history(write)
    prompt: Prompt = store.load(OWNER, "p1")
    for ref in ("main", "production", prompt.head().id, prompt.head().id[:10]):
        assert queries.show("welcomer", ref).id == prompt.resolve(ref)
    old, new = prompt.log()[-1].id, "main"
    assert queries.diff("p1", old, new).to_text() == prompt.diff(old, new).to_text()
    with pytest.raises(NotFoundError):
        queries.show("welcomer", "experiment")  # deleted


def test_version_numbers_and_steps_back_resolve_like_the_aggregate(db: Engine) -> None:
    store = PromptStore(db)
    write, queries = Writer(store), PromptQueries(db, OWNER)
    rich_history(write)
    prompt: Prompt = store.load(OWNER, "p1")
    head = prompt.head().id
    refs = [f"v{n}" for n in range(1, len(prompt.versions) + 1)]
    refs += ["main~1", "main~2", "main~~", "production~1", "v3~1", f"{head[:9]}~1", "main~0"]
    for ref in refs:
        assert queries.show("welcomer", ref).id == prompt.resolve(ref), ref
    assert queries.show("welcomer", "v2").number == 2
    assert [v.id for v in queries.log("welcomer", "main~1", limit=2)] == [
        prompt.resolve("main~1"),
        prompt.resolve("main~2"),
    ]
    for missing, says in (("v99", "a ref is a branch, a label, vN"), ("main~50", "before it")):
        with pytest.raises(NotFoundError, match=says) as sql:
            queries.show("welcomer", missing)
        with pytest.raises(NotFoundError) as state:
            prompt.resolve(missing)
        assert sql.value.message == state.value.message


def test_search_by_name_and_tag_and_archived_prompts_are_hidden(db: Engine) -> None:
    rich_history(Writer(PromptStore(db)))
    queries = PromptQueries(db, OWNER)
    assert [p.name for p in queries.search()] == ["welcomer"]
    assert [p.name for p in queries.search(include_archived=True)] == ["summarise", "welcomer"]
    assert [p.name for p in queries.search("WELC")] == ["welcomer"]
    assert [p.name for p in queries.search(tag="onboarding")] == ["welcomer"]
    assert queries.search(tag="demo") == []
    assert queries.search("%") == []


def test_a_recorded_command_can_be_found_again(db: Engine) -> None:
    store = PromptStore(db)
    Writer(store).create("p1", "greeter")
    command = cmd.CommitVersion(
        owner=OWNER, actor=OWNER, prompt_id="p1", template=Template.from_text("new")
    )
    prompt, outcome = cmd.run(store.load(OWNER, "p1"), command)
    store.append(prompt, command, outcome)
    record = store.recorded(OWNER, "p1", command.command_id)
    assert record is not None and (record.kind, record.version_id) == (
        "CommitVersion",
        outcome.version_id,
    )
    assert store.recorded("bob", "p1", command.command_id) is None


def test_events_are_numbered_from_one(db: Engine) -> None:
    Writer(PromptStore(db)).create("p1", "greeter")
    e = prompt_events.c
    with db.connect() as conn:
        seqs = conn.execute(select(e.seq).where(e.aggregate_id == "p1").order_by(e.seq)).scalars()
        assert list(seqs) == [1, 2, 3]
        conn.execute(delete(prompt_events).where(e.seq == 2))
        conn.commit()
        assert conn.execute(select(func.count()).select_from(prompt_events)).scalar() == 2
    with pytest.raises(NexusError) as corrupt:
        PromptStore(db).load(OWNER, "p1")
    assert corrupt.value.details["reason"] == "corrupt-history"


def test_the_tables_match_the_migrated_schema(db: Engine) -> None:
    from sqlalchemy import inspect

    inspector = inspect(db)
    for table in metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == set(table.columns.keys()), table.name
        primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [column.name for column in table.primary_key], table.name
