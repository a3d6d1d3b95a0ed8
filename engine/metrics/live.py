"""What Redis says: the streams of working runs and the gateways' durable usage ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.evaluation import streams
from engine.llm.ledger import FIELDS, usage_key


@dataclass(frozen=True)
class RunStreams:
    """The Redis side of one working run."""

    run_id: str
    unrecorded: int
    """Results streamed and not yet in the database: the recorder deletes what it wrote, so
    this is the results stream's length."""
    events: int
    dead_letters: int


def run_streams(redis: Any, run_ids: Sequence[str]) -> list[RunStreams]:
    """Stream lengths of ``run_ids``, one round trip in all (a missing stream counts 0)."""
    pipe = redis.pipeline(transaction=False)
    for run_id in run_ids:
        for stream in streams.run_streams(run_id):
            pipe.xlen(stream)
    lengths = [int(n) for n in pipe.execute()]
    return [
        RunStreams(run_id, *lengths[3 * index : 3 * index + 3])
        for index, run_id in enumerate(run_ids)
    ]


def account_usage(redis: Any, accounts: Sequence[str]) -> dict[str, dict[str, float]]:
    """The ledger's totals of each account (``af:usage:<account>:account``), one round trip."""
    pipe = redis.pipeline(transaction=False)
    for account in accounts:
        pipe.hgetall(usage_key(account))
    usage = {}
    for account, raw in zip(accounts, pipe.execute(), strict=True):
        totals = dict.fromkeys(FIELDS, 0.0)
        for name, value in (raw or {}).items():
            if name in totals:
                totals[name] = float(value)
        usage[account] = totals
    return usage
