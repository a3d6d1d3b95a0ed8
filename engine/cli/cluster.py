"""``autoforge cluster local``: a multi-node Ray cluster and an external Redis on this machine.

    autoforge cluster local --nodes 3      # runs until Ctrl-C (or `--stop`), then tears down
    autoforge cluster local --stop         # from another shell: stop the one running

While it runs, commands given ``RAY_ADDRESS`` and ``REDIS_URL`` (printed at start, and kept
in ``<data dir>/cluster-local.json``) run their actors on it. Exit codes: 0 done; 3
``--stop`` found no cluster running; 1 it did not start or stop in time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from domain.errors import ServiceUnavailableError
from engine.cli import output

EXIT_NOT_RUNNING = 3
STATE_FILE = "cluster-local.json"


def _state_path(args: argparse.Namespace) -> Path:
    from engine.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    return Path(settings.data_dir) / STATE_FILE


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _instructions(ray_address: str, redis_url: str, nodes: int, metrics: list[str]) -> str:
    scraped = " ".join(f"http://{target}/metrics" for target in metrics)
    return (
        f"cluster up: {nodes} Ray nodes (head + {nodes - 1} workers) and an external Redis\n"
        f"  export RAY_ADDRESS={ray_address}\n"
        f"  export REDIS_URL={redis_url}\n"
        f"the actors' metrics (ray_autoforge_*): {scraped}\n"
        "then, in that shell, for example:\n"
        "  autoforge eval examples/arithmetic/eval.yaml\n"
        "stop with Ctrl-C here, or `autoforge cluster local --stop`\n"
    )


def _run(args: argparse.Namespace) -> int:
    from engine.data_dir import private_dir
    from engine.local_cluster import LocalCluster

    state = _state_path(args)
    private_dir(state.parent)
    previous = _read(state)
    if previous is not None and _alive(int(previous["pid"])):
        raise ServiceUnavailableError(
            f"a local cluster already runs (pid {previous['pid']}): "
            "`autoforge cluster local --stop` first",
            reason="cluster-running",
        )
    stop = threading.Event()
    cluster = LocalCluster(
        nodes=args.nodes, cpus_per_node=args.cpus_per_node, directory=state.parent / "cluster"
    )
    try:
        cluster.start()
        # After the start: Ray's head node installs a SIGTERM handler of its own.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        info = {
            "pid": os.getpid(),
            "nodes": args.nodes,
            "ray_address": cluster.ray_address,
            "redis_url": cluster.redis_url,
            "metrics_targets": cluster.metrics_targets,
        }
        state.write_text(json.dumps(info))
        state.chmod(0o600)
        if args.json:
            output.write(json.dumps(info) + "\n")
        else:
            output.write(
                _instructions(
                    cluster.ray_address, cluster.redis_url, args.nodes, cluster.metrics_targets
                )
            )
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                pass
    finally:
        cluster.stop()
        if (_read(state) or {}).get("pid") == os.getpid():
            state.unlink(missing_ok=True)
    if not args.json:
        output.write("cluster stopped\n")
    return 0


def _read(state: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(state.read_text()))
    except (OSError, ValueError):
        return None


def _stop(args: argparse.Namespace) -> int:
    state = _state_path(args)
    info = _read(state)
    if info is None or not _alive(int(info["pid"])):
        state.unlink(missing_ok=True)
        output.write(f"no local cluster runs on {state.parent}\n")
        return EXIT_NOT_RUNNING
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(f"the local cluster (pid {pid}) did not stop in time")
        time.sleep(0.1)
    output.write(f"cluster stopped: pid {pid}\n")
    return 0


def _local(args: argparse.Namespace) -> int:
    return _stop(args) if args.stop else _run(args)


def register(subparsers: Any) -> None:
    """Add the ``cluster`` command group to the ``autoforge`` parser."""
    group = subparsers.add_parser("cluster", help="a multi-node Ray cluster to try: local")
    sub = group.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    local = sub.add_parser(
        "local",
        help="head + workers (separate raylets) and an external redis-server on this machine",
    )
    local.add_argument("--nodes", type=int, default=3, help="Ray nodes, head included")
    local.add_argument("--cpus-per-node", type=int, default=1, help="CPUs each node offers")
    local.add_argument("--stop", action="store_true", help="stop the local cluster running")
    local.add_argument("--timeout", type=float, default=60.0, help="--stop: seconds to wait")
    local.add_argument("--json", action="store_true", help="print the addresses as JSON")
    local.add_argument(
        "--data-dir", type=Path, default=None, help="the data dir (default AUTOFORGE_DATA_DIR)"
    )
    local.set_defaults(handler=_local)
