"""`autoforge queue …`: annotation queues, from the database (no Ray; the running engine's Redis
for claims when there is one, else claims in the database).

Examples:
    autoforge queue create run_1234 --filter failed --per-item 2 --assignee ann --assignee bob
    autoforge queue next q_1234 --annotator ann
    autoforge queue submit q_1234 0 --annotator ann --verdict fail --correction Paris
    autoforge queue reassign q_1234 --from ann --to dan
    autoforge queue progress q_1234
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from domain.annotation import WHERE, QueueFilter
from engine.cli import output
from engine.cli.acting import add_acting
from engine.cli.prompts import DEFAULT_OWNER
from engine.local_db import open_database
from engine.settings import Settings, load_settings


def _out(text: Any) -> None:
    output.write(f"{text}\n")


@contextmanager
def _store() -> Iterator[Any]:
    from engine.evaluation.queues import QueueStore
    from engine.evaluation.runs import RunStore

    settings = load_settings()
    with open_database(settings) as db:
        yield QueueStore(db, RunStore(db), leases=_leases(settings))


def _leases(settings: Settings) -> Any:
    """The Redis leases of the engine that owns the data directory, or of the configured
    Redis, so claims made here and there see each other; none: claims in the database."""
    from engine.data_dir import published_owner

    owner = published_owner(settings.data_dir)
    url = settings.redis_url or (owner.redis_url if owner is not None else None)
    if not url:
        return None  # and redis-py is never imported: the lone CLI stays lean
    from engine.evaluation.queue_leases import RedisLeases
    from engine.redis_client import sync_redis

    return RedisLeases(sync_redis(url))


def _create(args: argparse.Namespace) -> int:
    where = QueueFilter(args.filter, scorer=args.scorer, band=args.band, sample=args.sample)
    with _store() as store:
        queue = store.create(
            args.owner,
            args.runs,
            name=args.name,
            where=where,
            kind="pairwise" if args.pairwise else "single",
            versions=tuple(args.versions),
            assignees=tuple(args.assignee),
            annotators_per_item=args.per_item,
            seed=args.seed,
        )
    if args.json:
        _out(json.dumps(queue.to_dict(), indent=2))
    else:
        _out(f"{queue.id}: {queue.item_count} {queue.kind} items from {', '.join(queue.run_ids)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _store() as store:
        queues = [q for _, q in store.list(args.owner, limit=args.limit)]
    if args.json:
        _out(json.dumps([q.to_dict() for q in queues], indent=2))
    for q in [] if args.json else queues:
        name = f"  {q.name}" if q.name else ""
        _out(f"{q.id}  {q.kind:<8} {q.item_count:>6} items  {q.created_at[:19]}{name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with _store() as store:
        queue = store.get(args.owner, args.queue)
        progress = store.progress(args.owner, args.queue)
    if args.json:
        _out(json.dumps({**queue.to_dict(), "progress": progress.to_dict()}, indent=2))
        return 0
    f = queue.filter
    _out(
        f"{queue.id}{f' ({queue.name})' if queue.name else ''}: {queue.kind}, "
        f"{queue.item_count} items from {', '.join(queue.run_ids)}; filter {f.where}"
        + (f", sample {f.sample}" if f.sample else "")
        + f"; {queue.annotators_per_item} per item"
        + (f"; assignees {', '.join(queue.assignees)}" if queue.assignees else "")
        + f"; {progress.answers}/{progress.needed} answers"
    )
    return 0


def item_json(view: Any) -> dict[str, Any]:
    """What an annotator sees of an item: a single cell, or two outputs left and right (the
    versions behind them are not named: the comparison is blind)."""
    item = view.item
    head = {"queue_id": view.queue_id, "position": item.position, "case_id": item.case_id,
            "repeat": item.repeat, "variables": dict(view.cells[0].variables),
            "expected": view.cells[0].expected}  # fmt: skip
    if item.other is None:
        cell = view.cells[0]
        return {**head, "kind": "single", "prompt_version": cell.prompt_version,
                "model": cell.model, "output": cell.output, "passed": cell.passed,
                "score": cell.score, "scores": dict(cell.scores), "error": cell.error}  # fmt: skip
    return {**head, "kind": "pairwise", "left": view.left.output, "right": view.right.output}


def _next(args: argparse.Namespace) -> int:
    with _store() as store:
        view = store.next(args.owner, args.queue, args.annotator)
    if view is None:
        _out(json.dumps(None) if args.json else "nothing left for you in this queue")
        return 0
    shown = item_json(view)
    if args.json:
        _out(json.dumps(shown, indent=2))
        return 0
    _out(f"item {shown['position']}: case {shown['case_id']} #{shown['repeat']}")
    _out(f"  variables: {json.dumps(shown['variables'], ensure_ascii=False)}")
    if shown["kind"] == "single":
        _out(f"  output: {shown['output']}")
        _out(f"  scorers: {'pass' if shown['passed'] else 'fail'} ({shown['score']})")
    else:
        _out(f"  left:  {shown['left']}")
        _out(f"  right: {shown['right']}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    with _store() as store:
        answer = store.submit(
            args.owner,
            args.queue,
            args.position,
            args.annotator,
            verdict=args.verdict,
            score=args.score,
            correction=args.correction,
            comment=args.comment,
            tags=tuple(args.tag),
            choice=args.choice,
        )
    said = answer.choice or answer.verdict or f"score {answer.score:g}"
    if args.json:
        _out(json.dumps(answer.__dict__))
    else:
        _out(f"{args.queue} item {answer.position}: {said} by {answer.annotator} recorded")
    return 0


def _skip(args: argparse.Namespace) -> int:
    with _store() as store:
        store.skip(args.owner, args.queue, args.position, args.annotator)
    _out(f"{args.queue} item {args.position}: skipped by {args.annotator}")
    return 0


def _reassign(args: argparse.Namespace) -> int:
    positions = args.position or None
    with _store() as store:
        moved = store.reassign(args.owner, args.queue, args.source, args.target, positions)
    if args.json:
        _out(json.dumps({"moved": moved}))
    else:
        _out(f"{args.queue}: {len(moved)} item(s) moved from {args.source} to {args.target}"
             + (f" ({', '.join(map(str, moved))})" if moved else ""))  # fmt: skip
    return 0


def _progress(args: argparse.Namespace) -> int:
    with _store() as store:
        queue = store.get(args.owner, args.queue)
        progress = store.progress(args.owner, args.queue)
        agreed = store.agreement(args.owner, args.queue)
        tally = store.tally(args.owner, args.queue) if queue.kind == "pairwise" else None
    if args.json:
        document = {"progress": progress.to_dict(), "agreement": agreed.to_dict(),
                    "tally": tally.to_dict() if tally else None}  # fmt: skip
        _out(json.dumps(document, indent=2))
        return 0
    _out(
        f"{queue.id}: {progress.answers}/{progress.needed} answers ({progress.fraction:.0%}), "
        f"{progress.complete}/{progress.items} items complete, {progress.skipped} skipped"
    )
    for a in progress.annotators:
        _out(f"  {a.annotator}: {a.done} done, {a.skipped} skipped, {a.assigned} assigned")
    if agreed.method is not None and agreed.kappa is not None:
        _out(f"  agreement: {agreed.method} kappa {agreed.kappa:.3f} over {agreed.n_items} items")
    if tally is not None and tally.a and tally.b:
        _out(
            f"  tally: {tally.a[1][:12]} {tally.wins_a} wins, {tally.b[1][:12]} {tally.wins_b}"
            f" wins, {tally.ties} ties"
        )
    return 0


def register(subparsers: Any) -> None:
    """Add `queue` to the `autoforge` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)
    queues = subparsers.add_parser(
        "queue",
        help="annotation queues: create, list, show, next, submit, skip, reassign, progress",
    )
    sub = queues.add_subparsers(dest="queue_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        parser = sub.add_parser(name, parents=[common], help=text)
        parser.set_defaults(handler=handler)
        return parser

    create = add("create", _create, "make a queue of a run's cells (two runs: pairwise)")
    create.add_argument("runs", nargs="+", metavar="RUN", help="one run, or two for pairwise")
    create.add_argument("--filter", choices=WHERE, default="all", help="which cells")
    create.add_argument("--sample", type=int, default=None, help="a seeded sample of N cells")
    create.add_argument("--band", type=float, default=0.1, help="near-threshold distance")
    create.add_argument("--scorer", default=None, help="near-threshold scorer (default judges)")
    create.add_argument("--pairwise", action="store_true", help="compare two versions' outputs")
    create.add_argument("--versions", nargs=2, default=(), metavar="VERSION", help="pairwise")
    create.add_argument("--assignee", action="append", default=[], help="repeatable")
    create.add_argument("--per-item", type=int, default=1, help="annotators per item")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--name", default="")
    add("list", _list, "your queues").add_argument("--limit", type=int, default=20)
    add("show", _show, "a queue's settings").add_argument("queue")
    add("progress", _progress, "answers, per annotator, agreement, tally").add_argument("queue")
    nxt = add("next", _next, "claim your next item")
    nxt.add_argument("queue")
    nxt.add_argument("--annotator", default=DEFAULT_OWNER)
    submit = add("submit", _submit, "answer an item")
    submit.add_argument("queue")
    submit.add_argument("position", type=int)
    submit.add_argument("--annotator", default=DEFAULT_OWNER)
    submit.add_argument("--verdict", choices=("pass", "fail"), default=None)
    submit.add_argument("--score", type=float, default=None, help="within [0, 1]")
    submit.add_argument("--correction", default=None)
    submit.add_argument("--comment", default=None)
    submit.add_argument("--tag", action="append", default=[])
    submit.add_argument("--choice", choices=("left", "right", "tie"), default=None)
    reassign = add("reassign", _reassign, "hand an assignee's open items to another")
    reassign.add_argument("queue")
    reassign.add_argument("--from", dest="source", required=True, help="whose items move")
    reassign.add_argument("--to", dest="target", required=True, help="who takes them")
    reassign.add_argument("--position", type=int, action="append", default=[],
                          help="only this item (repeatable)")  # fmt: skip
    skip = add("skip", _skip, "pass on an item")
    skip.add_argument("queue")
    skip.add_argument("position", type=int)
    skip.add_argument("--annotator", default=DEFAULT_OWNER)
