"""``python -m engine.cli.simulator`` / ``autoforge simulator``: serve until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable
from contextlib import suppress

from domain.errors import ValidationError
from engine.cli import output
from engine.simulator._config import SimulatorConfig
from engine.simulator._models import SIMULATED_MODELS
from engine.simulator._runners import URL_PREFIX
from engine.simulator._server import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The simulator's command-line flags (one per ``SimulatorConfig`` field)."""
    parser = argparse.ArgumentParser(
        prog="autoforge simulator",
        description="Serve simulated OpenAI-compatible models on a local port.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute")
    parser.add_argument("--tpm", type=int, default=None, help="tokens per minute")
    parser.add_argument(
        "--window-s", type=float, default=60.0, help="rate-limit window (60: per minute)"
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 5xx")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="fraction that hang")
    parser.add_argument("--timeout-hang-s", type=float, default=30.0)
    parser.add_argument(
        "--stream-piece-ms", type=float, default=0.0, help="pause between streamed pieces"
    )
    parser.add_argument(
        "--tool-error-rate",
        type=float,
        default=0.0,
        help="fraction of tool calls with malformed arguments (bad JSON or schema)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    return parser


async def _watch_parent(stop: asyncio.Event) -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()


async def _serve(config: SimulatorConfig, exit_with_parent: bool) -> None:
    sim = Simulator(config)
    await sim.start()
    output.write(f"{URL_PREFIX}{sim.url}\n")
    sys.stderr.write(
        f"simulator: serving {', '.join(SIMULATED_MODELS)} at {sim.api_base} (Ctrl-C to stop)\n"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Signal handlers only work in the main thread; elsewhere KeyboardInterrupt still ends us.
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    watcher = asyncio.create_task(_watch_parent(stop)) if exit_with_parent else None
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in handled:
            loop.remove_signal_handler(sig)
        await sim.stop()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground until SIGINT/SIGTERM.

    The first stdout line is ``SIMULATOR_URL=http://HOST:PORT`` (flushed).

    Args:
        argv: Flags (``--host --port --latency-ms --jitter-ms --rpm --tpm --window-s
            --error-rate --timeout-rate --timeout-hang-s --stream-piece-ms --tool-error-rate
            --seed``);
            defaults to ``sys.argv[1:]``.

    Returns:
        The exit code: 0 after a clean stop, 2 for invalid flags, 1 if the port can't be bound.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help or a bad flag: report, don't exit the caller's process
        return exc.code if isinstance(exc.code, int) else 2
    return serve_with(args)


def serve_with(args: argparse.Namespace) -> int:
    """Serve with flags parsed by `build_parser` until SIGINT/SIGTERM; returns the exit code."""
    try:
        config = SimulatorConfig(
            host=args.host,
            port=args.port,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            rpm=args.rpm,
            tpm=args.tpm,
            window_s=args.window_s,
            error_rate=args.error_rate,
            timeout_rate=args.timeout_rate,
            timeout_hang_s=args.timeout_hang_s,
            stream_piece_ms=args.stream_piece_ms,
            tool_error_rate=args.tool_error_rate,
            seed=args.seed,
        )
    except ValidationError as exc:
        sys.stderr.write(f"simulator: {exc.message}\n")
        return 2
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(config, args.exit_with_parent))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        sys.stderr.write(f"simulator: cannot serve on {args.host}:{args.port}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
