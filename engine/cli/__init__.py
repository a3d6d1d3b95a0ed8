"""The `autoforge` command line: every command, the demo and the simulator's server.

The commands use the SDK facade (`engine.sdk`) or, for commands that only read or write the
database, the stores directly. The console script's composition root (`api.cli.main`) adds
the API's commands (`serve`, `token`, `keys`).
"""

from __future__ import annotations

from engine.cli.main import build_parser, main, parse_args

__all__ = ["build_parser", "main", "parse_args"]
