"""The `autoforge` command line.

Every command prints readable output (or `--json`), and every failure we anticipated ends in
one line on stderr and a non-zero exit code, never a traceback: 2 for a usage or settings
mistake (bad flags, a `ValidationError`, an input a command refused up front), 1 for
anything else that failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from domain.errors import ConfigurationError, NexusError, ValidationError
from engine.cli import output
from engine.cli.usage import UsageError

EXIT_ERROR = 1
EXIT_CONFIG = 2
"""Usage and settings mistakes, as argparse exits for bad flags."""

Handler = Callable[[argparse.Namespace], int]


def _cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(as_json=args.json, optimize=args.optimize)


def _cmd_simulator(args: argparse.Namespace) -> int:
    from engine.cli.simulator import serve_with

    return serve_with(args)


def _cmd_scorers(args: argparse.Namespace) -> int:
    from domain.scoring import describe_scorers

    described = describe_scorers()
    if args.json:
        _out(json.dumps([d.to_dict() for d in described], indent=2))
        return 0
    arguments = [arg for scorer in described for arg in scorer.arguments]
    name_width = max((len(arg.name) for arg in arguments), default=0)
    type_width = max((len(arg.type) for arg in arguments), default=0)
    for scorer in described:
        _out(f"{scorer.name}: {scorer.description}")
        for arg in scorer.arguments:
            need = "required" if arg.required else "optional"
            if arg.default is not None:
                need = f"default {json.dumps(arg.default)}"
            _out(
                f"    {arg.name:<{name_width}} {arg.type:<{type_width}} {need:<16} "
                f"{arg.description}"
            )
    return 0


def _cmd_version(_args: argparse.Namespace) -> int:
    from importlib.metadata import version

    _out(f"autoforge-nexus {version('autoforge-nexus')}")
    return 0


Registrar = Callable[[Any], None]
"""Adds commands to the `autoforge` sub-command parsers (e.g. `api.cli.register`)."""


def build_parser(extra: Sequence[Registrar] = ()) -> argparse.ArgumentParser:
    """The `autoforge` parser: the engine's commands, then each of `extra`'s."""
    parser = argparse.ArgumentParser(
        prog="autoforge", description="Write, version, evaluate and optimise LLM prompts."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="start the embedded services, check them, report")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.add_argument(
        "--optimize",
        action="store_true",
        help="instead: a baseline run, an optimization (gepa) and the promoted version",
    )
    demo.set_defaults(handler=_cmd_demo)

    # Listed here; parsed by the simulator's own parser (see `parse_args`).
    sub.add_parser(
        "simulator",
        help="run the simulated OpenAI-compatible provider (see --help after it)",
        add_help=False,
    )

    from engine.cli.prompts import register as register_prompt_commands

    register_prompt_commands(sub)

    from engine.cli.flows import register as register_flow_commands

    register_flow_commands(sub)

    from engine.cli.evaluation import register as register_evaluation_commands

    register_evaluation_commands(sub)

    from engine.cli.queues import register as register_queue_commands

    register_queue_commands(sub)

    from engine.cli.optimize import register as register_optimize_commands

    register_optimize_commands(sub)

    from engine.cli.playground import register as register_playground_commands

    register_playground_commands(sub)

    from engine.cli.engine_commands import register as register_engine_commands

    register_engine_commands(sub)

    from engine.cli.workspaces import register as register_workspace_commands

    register_workspace_commands(sub)

    from engine.cli.cluster import register as register_cluster_commands

    register_cluster_commands(sub)

    scorers = sub.add_parser("scorers", help="list the registered scorers and their arguments")
    scorers.add_argument("--json", action="store_true", help="machine-readable output")
    scorers.set_defaults(handler=_cmd_scorers)

    version = sub.add_parser("version", help="print the installed version")
    version.set_defaults(handler=_cmd_version)
    for register in extra:
        register(sub)
    return parser


def parse_args(argv: Sequence[str], extra: Sequence[Registrar] = ()) -> argparse.Namespace:
    """The command line parsed, with its handler; exits (argparse) on bad input or --help.

    `simulator` takes its own parser's flags: argparse cannot pass a sub-command's unknown
    flags through (`REMAINDER` refused `simulator --port 8001`), and building the simulator's
    parser into every command would import the simulator for all of them.
    """
    if list(argv[:1]) == ["simulator"]:
        from engine.cli.simulator import build_parser as simulator_parser

        args = simulator_parser().parse_args(list(argv[1:]))
        args.handler = _cmd_simulator
        return args
    return build_parser(extra).parse_args(argv)


def main(argv: Sequence[str] | None = None, extra: Sequence[Registrar] = ()) -> int:
    """Run one `autoforge` command; `extra` adds commands of the layers above (the API's)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = parse_args(sys.argv[1:] if argv is None else argv, extra)
    if getattr(args, "command", None) != "serve":  # a server's console shows its replicas
        os.environ.setdefault("AUTOFORGE_RAY_LOG_TO_DRIVER", "false")
    handler: Handler = args.handler
    try:
        from engine.logs import configure_logging
        from engine.settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        from engine.cli.acting import check_acting

        check_acting(args)
        with output.reserved():
            return handler(args)
    except UsageError as refused:
        _err(_line(refused.error))
        return EXIT_CONFIG
    except (ConfigurationError, ValidationError) as exc:
        _err(_line(exc))
        return EXIT_CONFIG
    except NexusError as exc:
        _err(_line(exc))
        return EXIT_ERROR
    except Exception as exc:
        if not _lost_redis(exc):
            raise
        _err(f"autoforge: service-unavailable: lost the connection to Redis: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("autoforge: interrupted")
        return 130


def _line(exc: NexusError) -> str:
    """``autoforge: <code>: <message>``; a settings error's message names the setting."""
    if isinstance(exc, ConfigurationError):
        return f"autoforge: {exc.message}"
    return f"autoforge: {exc.code}: {exc.message}"


def _lost_redis(exc: Exception) -> bool:
    """Redis went away mid-command (its engine exited). Asked without importing redis: the
    database-only commands never load it, so they cannot raise its errors."""
    errors = sys.modules.get("redis.exceptions")
    return errors is not None and isinstance(exc, errors.ConnectionError)


def _out(text: Any) -> None:
    output.write(f"{text}\n")


def _err(text: str) -> None:
    sys.stderr.write(f"{text}\n")


if __name__ == "__main__":
    raise SystemExit(main())
