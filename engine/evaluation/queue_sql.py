"""The SQL of `next`, `submit` and `skip` on annotation queues, and the lock their writes share.

`next` claims an item with a lease: a claim row ``(queue, annotator) → (position, expires_at)``
upserted by one guarded statement (`CLAIM`) that holds only while the item's open slots
(``remaining`` = answers still needed) exceed the live claims of other annotators. SQLite
runs a write statement under the database's write lock with the newest snapshot, so two
annotators racing for the last slot cannot both win: the loser's insert matches no row and
it looks again. `TAKE_SLOT` spends a slot on an answer under the same guard. The reads
(`HELD_OR_OPEN`, `HELD_OR_ASSIGNED`) walk the partial index of open items in position order
and check answers and assignments by primary key, claims by their ``(queue, position)`` index.
"""

from __future__ import annotations

import threading

from sqlalchemy import text

WRITES = threading.Lock()
"""Queue writes of this process, one at a time. SQLite takes one writer anyway; waiting
here wakes a writer the moment the last one commits, where SQLite's busy handler polls
with growing sleeps (with 20 annotators: p95 of `next` 93 ms, the slowest 11 s; libSQL's
driver stalled for its whole 5 s busy timeout). Writers in other processes still meet
SQLite's lock, and stay correct."""
QUEUE = text("SELECT * FROM annotation_queues WHERE id = :id")
ITEM = text("SELECT * FROM annotation_items WHERE queue_id = :q AND position = :p")
RESULT = text(
    "SELECT r.*, (SELECT body FROM dataset_cases WHERE version_id = :d AND case_id = :c "
    "AND EXISTS (SELECT 1 FROM dataset_versions WHERE id = :d AND owner = :o)) "
    "AS case_body FROM results AS r WHERE r.run_id = :r AND r.prompt_version = :v "
    "AND r.model = :m AND r.case_id = :c AND r.repeat = :n"
)
OPEN_SQL = (
    "SELECT i.position FROM annotation_items AS i "
    "WHERE i.queue_id = :q AND i.remaining > 0 AND i.assigned = 0 "
    "AND NOT EXISTS (SELECT 1 FROM annotation_answers AS w WHERE w.queue_id = :q "
    "AND w.position = i.position AND w.annotator = :a) "
    "AND i.remaining > (SELECT count(*) FROM annotation_claims AS c WHERE c.queue_id = :q "
    "AND c.position = i.position AND c.annotator != :a AND c.expires_at > :now) "
    "ORDER BY i.position LIMIT 1"
)
ASSIGNED_SQL = (
    "SELECT s.position FROM annotation_assignments AS s "
    "JOIN annotation_items AS i ON i.queue_id = s.queue_id AND i.position = s.position "
    "WHERE s.queue_id = :q AND s.annotator = :a AND i.remaining > 0 "
    "AND NOT EXISTS (SELECT 1 FROM annotation_answers AS w WHERE w.queue_id = :q "
    "AND w.position = s.position AND w.annotator = :a) "
    "AND i.remaining > (SELECT count(*) FROM annotation_claims AS c WHERE c.queue_id = :q "
    "AND c.position = s.position AND c.annotator != :a AND c.expires_at > :now) "
    "ORDER BY s.position LIMIT 1"
)
HELD_SQL = (
    "SELECT c.position FROM annotation_claims AS c "
    "JOIN annotation_items AS i ON i.queue_id = c.queue_id AND i.position = c.position "
    "WHERE c.queue_id = :q AND c.annotator = :a AND c.expires_at > :now AND i.remaining > 0"
)
HELD_OR_OPEN = text(f"SELECT coalesce(({HELD_SQL}), ({OPEN_SQL}))")
HELD_OR_ASSIGNED = text(f"SELECT coalesce(({HELD_SQL}), ({ASSIGNED_SQL}))")
"""The annotator's live claim, else the first item open to them: one round trip."""
CLAIM = text(
    "INSERT INTO annotation_claims (queue_id, position, annotator, expires_at) "
    "SELECT :q, :p, :a, :until WHERE "
    "(SELECT remaining FROM annotation_items WHERE queue_id = :q AND position = :p) > "
    "(SELECT count(*) FROM annotation_claims WHERE queue_id = :q AND position = :p "
    "AND annotator != :a AND expires_at > :now) "
    "AND NOT EXISTS (SELECT 1 FROM annotation_answers WHERE queue_id = :q "
    "AND position = :p AND annotator = :a) "
    "ON CONFLICT (queue_id, annotator) DO UPDATE SET position = excluded.position, "
    "expires_at = excluded.expires_at"
)
"""An annotator's one claim per queue (its primary key): claiming another item moves it."""
RELEASE = text(
    "DELETE FROM annotation_claims WHERE queue_id = :q AND annotator = :a AND position = :p"
)
TAKE_SLOT = text(
    "UPDATE annotation_items SET remaining = remaining - 1 "
    "WHERE queue_id = :q AND position = :p AND remaining >= :rank + "
    "(SELECT count(*) FROM annotation_claims WHERE queue_id = :q AND position = :p "
    "AND annotator != :a AND expires_at > :now) "
    "AND NOT EXISTS (SELECT 1 FROM annotation_answers WHERE queue_id = :q "
    "AND position = :p AND annotator = :a)"
)
"""Spend a slot on an answer. ``:rank`` is 1 with claims in the database; with Redis leases, the
rank of the answerer's lease (how many live leases the item had with it), so an answer never
takes the slot of an annotator who leased the item first."""
_FREE = (
    "i.remaining - (SELECT count(*) FROM annotation_claims AS c WHERE c.queue_id = :q "
    "AND c.position = i.position AND c.annotator != :a AND c.expires_at > :now)"
)
_NOT_ANSWERED = (
    "NOT EXISTS (SELECT 1 FROM annotation_answers AS w WHERE w.queue_id = :q "
    "AND w.position = i.position AND w.annotator = :a)"
)
OPEN_WINDOW = text(
    f"SELECT position, free FROM (SELECT i.position, {_FREE} AS free "
    "FROM annotation_items AS i WHERE i.queue_id = :q AND i.remaining > 0 AND i.assigned = 0 "
    f"AND i.position > :after AND {_NOT_ANSWERED} ORDER BY i.position) "
    "WHERE free > 0 LIMIT :n"
)
ASSIGNED_WINDOW = text(
    f"SELECT position, free FROM (SELECT i.position, {_FREE} AS free "
    "FROM annotation_assignments AS s JOIN annotation_items AS i "
    "ON i.queue_id = s.queue_id AND i.position = s.position "
    "WHERE s.queue_id = :q AND s.annotator = :a AND i.remaining > 0 "
    f"AND s.position > :after AND {_NOT_ANSWERED} ORDER BY s.position) "
    "WHERE free > 0 LIMIT :n"
)
"""The next ``:n`` items after ``:after`` open to an annotator, each with its open slots
(claims of other processes that keep them in the database counted): the candidates a Redis
lease is taken from."""
