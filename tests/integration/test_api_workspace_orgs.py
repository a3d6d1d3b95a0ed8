"""JWKS mode (Clerk): a token's organisation claims (`org_id`, `org_role`) put the caller in
that organisation's workspace with the mapped role, against a real JWKS on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.config import ApiSettings
from api.services import ApiServices
from engine.keys import Keyring, new_master_key
from engine.settings import Settings
from tests.workspace_matrix import PROBLEMS, WORKSPACE_HEADER

pytestmark = pytest.mark.integration

ISSUER = "https://clerk.example.dev"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(migrated_db: Engine, redis_url: str, jwks_url: str) -> Iterator[TestClient]:
    api = ApiSettings(
        auth_mode="jwks", auth_jwks_url=jwks_url, auth_issuer=ISSUER, rate_limit_per_minute=100_000
    )
    services = ApiServices(
        settings=Settings(data_dir=Path("/nonexistent")),
        db=migrated_db,
        redis_url=redis_url,
        keyring=Keyring.parse(new_master_key("o1")),
        api=api,
    )
    with TestClient(create_app(services), client=("127.0.0.1", 40002)) as test_client:
        yield test_client
    services.close()


def _headers(user: str, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    payload = {"sub": user, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 300, **claims}
    token = jwt.encode(payload, KEY, algorithm="RS256", headers={"kid": "k1"})
    return {"Authorization": f"Bearer {token}"}


def test_an_organisation_token_acts_in_its_workspace_with_the_mapped_role(
    client: TestClient,
) -> None:
    org = f"org_{uuid.uuid4().hex[:8]}"
    ws = f"ws_org:{org}"
    admin = _headers("user_admin", org_id=org, org_role="org:admin")
    member = _headers("user_member", org_id=org, org_role="org:member")
    # The admin's token makes the workspace on first sight; with no header it is the default.
    stored = client.put(
        "/v1/provider-keys/openai", json={"api_key": "sk-org-12345678"}, headers=admin
    )
    assert stored.status_code == 201, stored.text
    listed = client.get("/v1/workspaces", headers=admin).json()["items"]
    assert {(w["id"], w["kind"], w["role"]) for w in listed} == {
        ("user_admin", "personal", "owner"),
        (ws, "organisation", "owner"),
    }
    # A member (editor) sees the organisation's key but may not replace it.
    assert client.get("/v1/provider-keys/openai", headers=member).json()["last4"] == "5678"
    refused = client.put(
        "/v1/provider-keys/openai", json={"api_key": "sk-mine-12345678"}, headers=member
    )
    assert refused.status_code == 403 and refused.json()["type"] == f"{PROBLEMS}forbidden"
    # Their personal workspace is still theirs, by header.
    mine = {**member, WORKSPACE_HEADER: "user_member"}
    assert client.get("/v1/provider-keys/openai", headers=mine).status_code == 404
    members = client.get(f"/v1/workspaces/{ws}/members", headers=admin).json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [
        ("user_admin", "owner"),
        ("user_member", "editor"),
    ]
    # Clerk says who is in the organisation: members are not managed through the API.
    managed = client.post(
        f"/v1/workspaces/{ws}/members", json={"user_id": "user_x", "role": "viewer"}, headers=admin
    )
    assert managed.status_code == 409 and managed.json()["reason"] == "managed-by-identity-provider"
    # Once the member's token no longer carries the organisation, its workspace is gone for them.
    left = {**_headers("user_member"), WORKSPACE_HEADER: ws}
    gone = client.get("/v1/provider-keys/openai", headers=left)
    assert gone.status_code == 404 and gone.json()["reason"] == "unknown-workspace"
    other = {
        **_headers("user_member", org_id="org_other", org_role="org:admin"),
        WORKSPACE_HEADER: ws,
    }
    assert client.get("/v1/provider-keys/openai", headers=other).status_code == 404
