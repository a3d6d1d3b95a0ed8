"""`autoforge serve`, `autoforge token create` and `autoforge keys …`: the API's commands.

`main` is the console script's composition root: the engine's commands (`engine.cli`) plus
these. `register(subparsers)` adds them to the `autoforge` parser; handlers return an exit
code and raise `NexusError` for the CLI to print as one line.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextlib import ExitStack

    from api.config import ApiSettings
    from engine.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `autoforge` console script (``python -m api.cli`` too)."""
    from engine.cli import main as engine_main

    return engine_main(argv, extra=(register,))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The full `autoforge` command line parsed (the engine's commands and the API's)."""
    from engine.cli.main import parse_args as engine_parse_args

    return engine_parse_args(argv, extra=(register,))


def register(subparsers: Any) -> None:
    """Add the API's commands to the `autoforge` sub-command parsers."""
    config = subparsers.add_parser(
        "config", help="print the effective settings, the engine's and the API's (redacted)"
    )
    config.add_argument("--json", action="store_true", help="machine-readable output")
    config.set_defaults(handler=_cmd_config)

    serve = subparsers.add_parser("serve", help="start the engine and the HTTP API (Ctrl-C stops)")
    serve.add_argument("--host", help="bind address (default AUTOFORGE_API_HOST)")
    serve.add_argument("--port", type=int, help="port (default AUTOFORGE_API_PORT)")
    serve.add_argument(
        "--simulator",
        action="store_true",
        help="also run the simulated provider and offer its openai/sim-* models (no API key)",
    )
    serve.set_defaults(handler=_cmd_serve)

    view = subparsers.add_parser(
        "view", help="open the viewer on the local engine (loopback, no auth; Ctrl-C stops)"
    )
    view.add_argument("--host", default="127.0.0.1", help="loopback address (127.0.0.1)")
    view.add_argument("--port", type=int, default=8765, help="port (8765; 0: any free one)")
    view.add_argument("--no-open", action="store_true", help="print the URL, open no browser")
    view.set_defaults(handler=_cmd_view)

    token = subparsers.add_parser("token", help="API tokens for hs256 (self-hosted) auth")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="print a signed token for a user")
    create.add_argument("--user", required=True, help="the user id (the token's `sub`)")
    create.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (3600)")
    create.set_defaults(handler=_cmd_token_create)

    keys = subparsers.add_parser("keys", help="master keys that encrypt stored provider keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = keys_sub.add_parser(
        "new-master-key", help="print a fresh kid:key entry; put it first in AUTOFORGE_SECRET_KEYS"
    )
    new.add_argument("--kid", help="key id (default: dated)")
    new.set_defaults(handler=_cmd_new_master_key)
    reencrypt = keys_sub.add_parser(
        "reencrypt", help="re-seal stored provider keys under the current master key"
    )
    reencrypt.set_defaults(handler=_cmd_reencrypt)


def _cmd_config(args: argparse.Namespace) -> int:
    import json

    from api.config import load_api_settings
    from engine.settings import load_settings

    api = load_api_settings().redacted()
    api["api_host"], api["api_port"] = api.pop("host"), api.pop("port")
    shown = {**load_settings().redacted(), **api}
    if args.json:
        _out(json.dumps(shown, indent=2, sort_keys=True))
    else:
        width = max(len(k) for k in shown)
        for key in sorted(shown):
            _out(f"{key.ljust(width)}  {shown[key]}")
    return 0


def _cmd_token_create(args: argparse.Namespace) -> int:
    from api.auth import create_token
    from api.config import load_api_settings

    _out(create_token(load_api_settings(), args.user, args.ttl))
    return 0


def _cmd_new_master_key(args: argparse.Namespace) -> int:
    from engine.keys import new_master_key

    _out(new_master_key(args.kid))
    return 0


def _cmd_reencrypt(_args: argparse.Namespace) -> int:
    from engine.keys import ProviderKeyStore, load_keyring
    from engine.runtime import Runtime
    from engine.settings import load_settings

    settings = load_settings()
    with Runtime(settings, start_ray=False) as runtime:
        assert runtime.db is not None
        moved = ProviderKeyStore(runtime.db, load_keyring(settings)).reencrypt_all()
    _out(f"re-encrypted {moved} provider key(s)")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from api.config import load_api_settings
    from engine.settings import load_settings

    bind = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    api = load_api_settings(**bind)
    settings = load_settings()
    _refuse_unsafe(settings, api)
    with ExitStack() as stack:
        if args.simulator:
            settings = _with_simulator(settings, stack)
        return _serve(settings, api)


def _with_simulator(settings: Settings, stack: ExitStack) -> Settings:
    """Start the simulator for the life of ``stack``; the settings' catalogue plus its models.

    Replicas read the catalogue from a file (the data dir's, 0600), like any other.
    """
    import json

    from engine.data_dir import private_dir, private_file
    from engine.llm import load_catalogue
    from engine.llm.catalogue import with_simulator
    from engine.simulator import SimulatorConfig, running_simulator

    base = load_catalogue(settings.catalogue_path)  # a bad file fails before anything starts
    simulator = stack.enter_context(running_simulator(SimulatorConfig()))
    catalogue = with_simulator(base, simulator.api_base)
    path = private_file(private_dir(settings.data_dir) / "serve-simulator-catalogue.json")
    path.write_text(json.dumps(catalogue.to_dict()), encoding="utf-8")
    _out(f"simulator at {simulator.api_base}: openai/sim-* models added to the catalogue")
    return settings.model_copy(update={"catalogue_path": path})


def _serve(settings: Settings, api: ApiSettings) -> int:
    from ray import serve

    from api.serve import deploy, master_keys_of, replica_overrides
    from engine.runtime import Runtime

    settings = settings.model_copy(update={"executor": "ray"})  # replicas are Ray's
    with Runtime(settings) as runtime:
        assert runtime.redis_url is not None
        master_keys = master_keys_of(settings)  # in development: the key file in the data dir
        serve.start(http_options={"host": api.host, "port": api.port})
        try:
            secrets_holder = deploy(  # noqa: F841 (replicas read the secrets while it lives)
                replica_overrides(settings, runtime.redis_url, api), master_keys=master_keys
            )
            host = f"[{api.host}]" if ":" in api.host else api.host
            url = f"http://{host}:{api.port}"
            _out(f"AutoForge Nexus API at {url}  (docs {url}/docs, auth {api.auth_mode})")
            _out("press Ctrl-C to stop")
            threading.Event().wait()
        except KeyboardInterrupt:
            _out("stopping")
        finally:
            serve.shutdown()  # type: ignore[no-untyped-call]
    return 0


def _cmd_view(args: argparse.Namespace) -> int:
    import webbrowser

    from api.app import create_app
    from api.auth import is_loopback
    from api.config import load_api_settings
    from api.services import ApiServices
    from api.ui.local import VIEW_RATE_LIMIT, bound_socket, serve_forever, url_of
    from domain.errors import ConfigurationError
    from engine.sdk import Engine

    if not is_loopback(args.host):
        raise ConfigurationError("autoforge view serves loopback only (no auth); use serve")
    sock = bound_socket(args.host, args.port)
    api = load_api_settings(
        auth_mode="none",
        host=args.host,
        port=sock.getsockname()[1],
        rate_limit_per_minute=VIEW_RATE_LIMIT,
    )
    engine = Engine(executor="inline")
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=api)
    try:
        url = f"{url_of(sock)}/ui"
        _out(f"AutoForge Nexus viewer at {url}  (press Ctrl-C to stop)")
        if not args.no_open:
            threading.Timer(0.5, webbrowser.open, (url,)).start()
        serve_forever(create_app(services), sock)
    finally:
        services.close()
        engine.close()
        sock.close()
    return 0


def _refuse_unsafe(settings: Settings, api: ApiSettings) -> None:
    """What replicas would refuse, refused before Redis and Ray start (and leave a mess).

    Raises:
        ConfigurationError: auth off beyond loopback, or production without master keys.
    """
    from api.auth import build_authenticator
    from api.serve import master_keys_of

    build_authenticator(api)
    if settings.environment == "production":
        master_keys_of(settings)


def _out(text: str) -> None:
    from engine.cli import output

    output.write(f"{text}\n")


if __name__ == "__main__":
    sys.exit(main())
