"""A cluster-sized run on paper, from the per-part ceilings `bench/capacity.py` measures.

    .venv/bin/python bench/capacity_model.py [--nodes 100] [--cells 1000000]
        [--cores-per-node 4] [--latency-ms 1000] [--concurrency 4096] [--rpm 0]
        [--measured capacity.json] [--json]

Every cell costs each shared part a fixed amount of work; each part has one ceiling (one
process, one server); the run goes as fast as the lowest ceiling, and the evaluators' side
grows with the nodes. What each cell costs:

- evaluators: CPU per cell (``--cpu-ms-per-cell``, `bench/cpu_per_cell.py`), and at most
  ``concurrency / latency`` cells/s in flight whatever the cores;
- the run scheduler (one actor per deployment): at most ``--max-inflight`` (its
  ``max_inflight``, 4,096) cells out at once, so ``max_inflight / latency`` cells/s, and one
  actor call per batch of ``--batch`` cells (``--actor-calls-per-s``, NOTES: ~4,500/s);
- the gateway (one actor per provider account): leases of ``--permits-per-lease`` requests,
  two actor calls each (acquire, release), ``gateway_actor_leases_per_s`` measured;
- the recorder (one per deployment): one row insert per cell, ``recorder_libsql_rows_per_s``;
- Redis (one server): per cell one XADD (pipelined per batch), one XREADGROUP + XACK share
  (batched by 100) and ``--redis-single-ops-per-cell`` unpipelined commands (response cache
  GET and SET);
- the provider: ``--rpm`` per account × ``--accounts`` (0: unlimited, e.g. self-hosted).

Prints each ceiling in cells/s, which one binds, the nodes at which each is reached, and
the run's duration at the given size. ``--measured`` reads `bench/capacity.py --json`
output; the defaults are the numbers measured for docs/capacity.md.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

MEASURED = {
    # bench/capacity.py, 2 shared cores at load 7-10 (docs/capacity.md)
    "gateway_actor_leases_per_s": 827.0,
    "recorder_libsql_rows_per_s": 12_525.0,
    "recorder_sqlite_rows_per_s": 24_027.0,
    "redis_tcp_xadd_per_s": 20_533.0,
    "redis_tcp_xadd_pipelined_per_s": 50_108.0,
    "redis_tcp_xreadgroup_ack_per_s": 70_747.0,
}


def ceilings(args: argparse.Namespace, measured: dict[str, float]) -> dict[str, float]:
    """Cells/s each part allows; ``evaluators`` for the whole cluster of ``args.nodes``."""
    latency_s = args.latency_ms / 1000
    per_core = 1000 / args.cpu_ms_per_cell
    evaluators = args.nodes * args.cores_per_node * per_core
    if latency_s > 0:
        evaluators = min(evaluators, args.concurrency / latency_s)
    scheduler = args.actor_calls_per_s * args.batch
    if latency_s > 0:
        scheduler = min(scheduler, args.max_inflight / latency_s)
    # Seconds of Redis per cell: its parts' shares of one server's time.
    redis_s = (
        1 / measured["redis_tcp_xadd_pipelined_per_s"]
        + 1 / measured["redis_tcp_xreadgroup_ack_per_s"]
        + args.redis_single_ops_per_cell / measured["redis_tcp_xadd_per_s"]
    )
    out = {
        "evaluators": evaluators,
        "scheduler": scheduler,
        "gateway (one account)": measured["gateway_actor_leases_per_s"] * args.permits_per_lease,
        "recorder (libSQL)": measured["recorder_libsql_rows_per_s"],
        "redis": 1 / redis_s,
    }
    if args.rpm:
        out["provider"] = args.rpm * args.accounts / 60
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--cores-per-node", type=int, default=4)
    parser.add_argument("--cpu-ms-per-cell", type=float, default=0.67, help="cpu_per_cell.py")
    parser.add_argument("--latency-ms", type=float, default=1000.0, help="provider latency")
    parser.add_argument("--concurrency", type=int, default=4096, help="the run's concurrency")
    parser.add_argument("--max-inflight", type=int, default=4096, help="RunScheduler's cap")
    parser.add_argument("--batch", type=int, default=16, help="cells per dispatched batch")
    parser.add_argument("--actor-calls-per-s", type=float, default=4500.0)
    parser.add_argument("--permits-per-lease", type=int, default=16)
    parser.add_argument("--redis-single-ops-per-cell", type=float, default=2.0)
    parser.add_argument("--rpm", type=int, default=0, help="per account; 0: unlimited")
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--measured", type=Path, default=None, help="capacity.py --json output")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    measured = dict(MEASURED)
    if args.measured is not None:
        measured.update(
            {k: float(v) for k, v in json.loads(args.measured.read_text()).items() if k in MEASURED}
        )
    limits = ceilings(args, measured)
    binding = min(limits, key=lambda name: limits[name])
    rate = limits[binding]
    per_node = limits["evaluators"] / args.nodes
    saturates_at = {
        name: (math.ceil(value / per_node) if name != "evaluators" else None)
        for name, value in limits.items()
    }
    result: dict[str, Any] = {
        "nodes": args.nodes,
        "cells": args.cells,
        "ceilings_cells_per_s": {k: round(v) for k, v in limits.items()},
        "binding": binding,
        "cells_per_s": round(rate),
        "run_s": round(args.cells / rate, 1),
        "nodes_to_saturate": saturates_at,
        "evaluator_cells_per_s_per_node": round(per_node),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{args.nodes} nodes x {args.cores_per_node} cores, {args.cells:,} cells, "
        f"{args.latency_ms:g} ms provider latency, run concurrency {args.concurrency}"
    )
    for name, value in sorted(limits.items(), key=lambda item: item[1]):
        nodes = saturates_at[name]
        where = "" if nodes is None else f"  (reached at {nodes} nodes)"
        mark = "  <- binds" if name == binding else ""
        print(f"  {name:24} {value:>12,.0f} cells/s{where}{mark}")
    print(f"run: {args.cells:,} cells at {rate:,.0f} cells/s = {args.cells / rate:,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
