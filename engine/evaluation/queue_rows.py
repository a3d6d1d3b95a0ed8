"""Rows of annotation queues and what they stand for: a queue and its items as stored, an
answer's feedback, the versions a pairwise queue compares, the scorers' pass marks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from domain.annotation import Answer, Choice, Item, Queue, QueueFilter
from domain.errors import ValidationError
from domain.feedback import Feedback, Verdict
from domain.scoring import build_scorer
from engine.evaluation.runs import RunInfo


def pass_marks(scorers: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Scorer name → pass mark of a run's registered scorers (a spec that no longer builds
    is left out)."""
    marks = {}
    for record in scorers:
        try:
            scorer = build_scorer(record)
        except Exception:  # an old spec that no longer builds just gives no mark
            continue
        marks[scorer.name] = float(scorer.threshold)
    return marks


def answer_feedback(
    queue: Queue,
    item: Item,
    annotator: str,
    now: str,
    verdict: Verdict | None,
    score: float | None,
    correction: str | None,
    comment: str | None,
    tags: Sequence[str],
    choice: Choice | None,
) -> Feedback | None:
    if queue.kind == "pairwise":
        given = [verdict, score, correction, comment]
        if any(v is not None for v in given) or tags:
            raise ValidationError(
                "a pairwise item takes a choice only (left, right or tie)",
                field="choice",
                reason="pairwise-choice-only",
            )
        if choice not in ("left", "right", "tie"):
            raise ValidationError(
                f"choice must be 'left', 'right' or 'tie', got {choice!r}",
                field="choice",
                reason="no-label",
            )
        return None
    if choice is not None:
        raise ValidationError("a single item takes no choice", field="choice")
    if verdict is None and score is None:
        raise ValidationError(
            "an answer needs a verdict or a score (skip the item instead)",
            field="verdict",
            reason="no-label",
        )
    return Feedback(
        run_id=item.run_id,
        prompt_version=item.prompt_version,
        model=item.model,
        case_id=item.case_id,
        repeat=item.repeat,
        author=annotator,
        created_at=now,
        verdict=verdict,
        score=score,
        correction=correction,
        comment=comment,
        tags=tuple(tags),
    )


def two_versions(info: RunInfo, named: Sequence[str]) -> tuple[str, str]:
    known = list(info.spec.prompt_versions)
    if not named:
        if len(known) < 2:
            raise ValidationError(
                f"run {info.id} holds one prompt version: a pairwise queue needs two "
                "(a run of two versions, or two runs)",
                field="versions",
                reason="needs-two-versions",
            )
        return known[0], known[1]
    resolved = []
    for ref in named:
        matches = [v for v in known if v.startswith(ref)]
        if len(matches) != 1:
            raise ValidationError(
                f"{ref!r} names {'no' if not matches else 'several'} prompt versions of the run",
                field="versions",
                reason="unknown-version",
            )
        resolved.append(matches[0])
    if resolved[0] == resolved[1]:
        raise ValidationError("the two versions must differ", field="versions")
    return resolved[0], resolved[1]


def versions_of(queue: Queue, items: Sequence[Item]) -> tuple[str, ...]:
    if queue.kind != "pairwise" or len(queue.run_ids) != 1 or not items:
        return queue.versions
    first = items[0]
    assert first.other is not None
    return (first.prompt_version, first.other[1])


def queue_row(owner: str, queue: Queue) -> dict[str, Any]:
    spec = {
        "run_ids": list(queue.run_ids),
        "filter": queue.filter.to_dict(),
        "versions": list(queue.versions),
        "assignees": list(queue.assignees),
    }
    return {
        "id": queue.id,
        "owner": owner,
        "name": queue.name,
        "kind": queue.kind,
        "spec": json.dumps(spec, sort_keys=True),
        "annotators_per_item": queue.annotators_per_item,
        "seed": queue.seed,
        "item_count": queue.item_count,
        "created_by": queue.created_by,
        "created_at": queue.created_at,
    }


def queue_of(row: dict[str, Any]) -> Queue:
    spec = json.loads(row["spec"])
    return Queue(
        id=row["id"],
        name=row["name"],
        run_ids=tuple(spec["run_ids"]),
        filter=QueueFilter.from_dict(spec["filter"]),
        kind=row["kind"],
        versions=tuple(spec["versions"]),
        assignees=tuple(spec["assignees"]),
        annotators_per_item=row["annotators_per_item"],
        seed=row["seed"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        item_count=row["item_count"],
    )


def item_row(queue: Queue, item: Item, assigned: bool) -> dict[str, Any]:
    other = item.other or (None, None, None)
    return {
        "queue_id": queue.id,
        "position": item.position,
        "run_id": item.run_id,
        "prompt_version": item.prompt_version,
        "model": item.model,
        "case_id": item.case_id,
        "repeat": item.repeat,
        "other_run_id": other[0],
        "other_version": other[1],
        "other_model": other[2],
        "swapped": item.swapped,
        "assigned": assigned,
        "remaining": queue.annotators_per_item,
    }


def item_of(row: dict[str, Any]) -> Item:
    other = None
    if row["other_run_id"] is not None:
        other = (row["other_run_id"], row["other_version"], row["other_model"])
    return Item(
        position=row["position"],
        run_id=row["run_id"],
        prompt_version=row["prompt_version"],
        model=row["model"],
        case_id=row["case_id"],
        repeat=row["repeat"],
        other=other,
        swapped=bool(row["swapped"]),
    )


def answer_row(queue_id: str, answer: Answer) -> dict[str, Any]:
    return {
        "queue_id": queue_id,
        "position": answer.position,
        "annotator": answer.annotator,
        "status": "done",
        "verdict": answer.verdict,
        "score": answer.score,
        "choice": answer.choice,
        "created_at": answer.created_at,
    }
