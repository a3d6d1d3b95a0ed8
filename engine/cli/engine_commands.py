"""``autoforge engine start|status|stop``: a local engine kept up for later commands.

While it runs, ``autoforge eval``, ``run …`` and scripts' ``Engine()`` on the same data dir
use it instead of starting Ray and the actors themselves.

Exit codes: 0 done (``status``: running); 3 no engine runs on the data dir (``status``,
``stop``); 1 anything else (already owned, did not start or stop in time), with one line
on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.cli import output

EXIT_NOT_RUNNING = 3


def _settings(args: argparse.Namespace) -> Any:
    from engine.settings import load_settings

    return load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))


def _report(args: argparse.Namespace, status: Any, verb: str) -> None:
    if args.json:
        output.write(json.dumps({"running": True, **status.to_dict()}) + "\n")
        return
    runs = ", ".join(status.active_runs) or "none"
    output.write(
        f"engine {verb}: pid {status.pid}, data dir {status.data_dir}, up {status.uptime_s:.0f} s, "
        f"active runs: {runs}\n"
    )


def _not_running(args: argparse.Namespace, settings: Any) -> int:
    if args.json:
        output.write(json.dumps({"running": False, "data_dir": str(settings.data_dir)}) + "\n")
    else:
        output.write(f"no engine runs on {settings.data_dir}\n")
    return EXIT_NOT_RUNNING


def _start(args: argparse.Namespace) -> int:
    from engine.sdk.daemon import start_engine

    _report(args, start_engine(_settings(args), timeout_s=args.timeout), "started")
    return 0


def _status(args: argparse.Namespace) -> int:
    from engine.sdk.daemon import engine_status

    settings = _settings(args)
    status = engine_status(settings)
    if status is None:
        return _not_running(args, settings)
    _report(args, status, "running" if status.daemon else "running (owned by a command)")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from engine.sdk.daemon import stop_engine

    settings = _settings(args)
    pid = stop_engine(settings, timeout_s=args.timeout)
    if pid is None:
        return _not_running(args, settings)
    if args.json:
        output.write(json.dumps({"running": False, "stopped_pid": pid}) + "\n")
    else:
        output.write(f"engine stopped: pid {pid}\n")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``engine`` command group to the ``autoforge`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--data-dir", type=Path, default=None, help="the data dir (default AUTOFORGE_DATA_DIR)"
    )
    group = subparsers.add_parser(
        "engine", help="keep a local engine running for later commands: start, status, stop"
    )
    sub = group.add_subparsers(dest="engine_command", required=True, metavar="ACTION")
    for name, handler, text, timeout in (
        ("start", _start, "start a background engine and wait until it serves", 300.0),
        ("status", _status, "whether an engine runs on the data dir (exit 3: none)", None),
        ("stop", _stop, "stop the background engine (SIGTERM) and wait for it", 60.0),
    ):
        parser = sub.add_parser(name, parents=[common], help=text)
        parser.set_defaults(handler=handler)
        if timeout is not None:
            parser.add_argument(
                "--timeout", type=float, default=timeout, help=f"seconds (default {timeout:.0f})"
            )
