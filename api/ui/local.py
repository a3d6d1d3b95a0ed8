"""The viewer on this machine: the API app (with `/ui`) served by uvicorn on loopback.

`autoforge view` runs it in the foreground on the local engine with auth off (loopback only,
as `NoAuth` insists); tests run `running_viewer` in a thread around any app.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

VIEW_RATE_LIMIT = 6_000
"""Requests per minute for the one local user: pages poll while runs are live."""


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app: ASGIApp) -> object:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio")
    return uvicorn.Server(config)


def serve_forever(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` (the API with its viewer) on ``sock`` until Ctrl-C."""
    server = _server(app)
    server.run(sockets=[sock])  # type: ignore[attr-defined]


@contextmanager
def running_viewer(app: ASGIApp, host: str = "127.0.0.1") -> Iterator[str]:
    """The base URL of ``app`` (`create_app(services)`) served from a thread; stopped on exit."""
    sock = bound_socket(host, 0)
    server = _server(app)
    thread = threading.Thread(
        target=server.run,  # type: ignore[attr-defined]
        kwargs={"sockets": [sock]},
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # type: ignore[attr-defined]
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the viewer did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=10)
        sock.close()
