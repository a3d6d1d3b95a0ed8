"""What Redis says: the streams of working runs and the gateways' durable usage ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.evaluation import streams
from engine.llm.ledger import FIELDS, usage_key

LAG_SCAN_LIMIT = 1_000
"""Undelivered entries counted one by one where Redis (< 7) reports no group lag."""


@dataclass(frozen=True)
class RunStreams:
    """The Redis side of one working run."""

    run_id: str
    results_entries: int
    events_entries: int
    unrecorded: int
    """Results streamed and not yet in the database (undelivered + delivered, unacked)."""


def run_streams(redis: Any, run_ids: Sequence[str]) -> list[RunStreams]:
    """Stream lengths and recorder lag of ``run_ids``, two round trips in all."""
    pipe = redis.pipeline(transaction=False)
    for run_id in run_ids:
        pipe.xlen(streams.results_stream(run_id))
        pipe.xlen(streams.events_stream(run_id))
        pipe.xinfo_groups(streams.results_stream(run_id))
    replies = pipe.execute(raise_on_error=False)
    out = []
    for index, run_id in enumerate(run_ids):
        results_len, events_len, groups = replies[3 * index : 3 * index + 3]
        group = _recorder_group(groups)
        results_len = results_len if isinstance(results_len, int) else 0
        out.append(
            RunStreams(
                run_id,
                results_len,
                events_len if isinstance(events_len, int) else 0,
                _unrecorded(redis, run_id, group, results_len),
            )
        )
    return out


def _recorder_group(groups: Any) -> dict[str, Any] | None:
    if not isinstance(groups, list):
        return None
    for group in groups:
        if group.get("name") == streams.GROUP:
            return dict(group)
    return None


def _unrecorded(redis: Any, run_id: str, group: dict[str, Any] | None, length: int) -> int:
    if group is None:  # the recorder has not watched it yet: every entry waits
        return length
    pending = int(group.get("pending") or 0)
    lag = group.get("lag")
    if isinstance(lag, int):
        return pending + lag
    last = group.get("last-delivered-id") or "0-0"
    newer = redis.xrange(
        streams.results_stream(run_id), min=f"({last}", max="+", count=LAG_SCAN_LIMIT
    )
    return pending + len(newer)


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
