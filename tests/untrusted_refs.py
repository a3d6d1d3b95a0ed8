"""Local stand-ins for what an attacker would point a scorer at: a URL and a private file."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LEAK: dict[str, Any] = {"const": "s3cret"}
"""What the URL serves and the file holds: a schema that would reveal it was read."""


class RefServer:
    """An HTTP server on 127.0.0.1 that records every path requested of it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                body = json.dumps(LEAK).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/schema+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def ref_server() -> Iterator[RefServer]:
    """A running `RefServer`, shut down afterwards."""
    server = RefServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def secret_file(directory: Path) -> Path:
    """A file holding `LEAK` whose atime is 0: on relatime mounts any read moves it."""
    path = directory / "secret.json"
    path.write_text(json.dumps(LEAK))
    os.utime(path, (0, path.stat().st_mtime))
    return path


def remote_schemas(url: str) -> list[object]:
    """JSON Schemas that would make a validator fetch something from ``url``."""
    return [
        {"$ref": f"{url}/a.json"},
        {"properties": {"x": {"$ref": "#/$defs/y"}}, "$defs": {"y": {"$ref": f"{url}/b.json"}}},
        {"$id": f"{url}/root.json", "$ref": "c.json"},
        {"$dynamicRef": f"{url}/d.json"},
        {"$schema": f"{url}/meta.json"},
    ]
