"""Token verification matrix against a real JWKS served on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import Authenticator, build_authenticator, create_token
from api.config import ApiSettings
from domain.errors import AuthError, ConfigurationError, ServiceUnavailableError

ISSUER = "https://clerk.example.dev"
AZP = "https://app.example"
SECRET = "s" * 40


@dataclass
class Jwks:
    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEYS = {"k1": _rsa(), "k2": _rsa()}


def _jwk(kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEYS[kid].public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[tuple[str, Jwks]]:
    state = Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.fetches += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", state
    server.shutdown()
    server.server_close()


@pytest.fixture
def jwks(jwks_server: tuple[str, Jwks]) -> Jwks:
    state = jwks_server[1]
    state.keys, state.fetches = [_jwk("k1")], 0
    return state


def _jwks_auth(url: str, cooldown: float = 0.0, **settings: Any) -> Authenticator:
    config = ApiSettings(
        auth_mode="jwks",
        auth_jwks_url=url,
        auth_issuer=ISSUER,
        auth_allowed_azp=[AZP],
        jwks_refetch_cooldown_seconds=cooldown,
        **settings,
    )
    return build_authenticator(config)


@pytest.fixture
def auth(jwks_server: tuple[str, Jwks], jwks: Jwks) -> Authenticator:
    return _jwks_auth(jwks_server[0])


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "user_1", "iss": ISSUER, "azp": AZP, "iat": now, "nbf": now,
              "exp": now + 300, "sid": "sess_1"}  # fmt: skip
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _rs256(kid: str = "k1", key: str | None = None, **claims: Any) -> str:
    return jwt.encode(_claims(**claims), KEYS[key or kid], algorithm="RS256", headers={"kid": kid})


async def _refused(auth: Authenticator, token: str | None, reason: str = "") -> AuthError:
    with pytest.raises(AuthError, match=reason) as caught:
        await auth.authenticate(token, "203.0.113.9")
    return caught.value


async def test_valid_clerk_token_is_accepted(auth: Authenticator) -> None:
    user = await auth.authenticate(_rs256(), "203.0.113.9")
    assert user.id == "user_1" and user.claims["sid"] == "sess_1"


async def test_missing_token_asks_for_one(auth: Authenticator) -> None:
    error = await _refused(auth, None, "required")
    assert "bearer_error" not in error.details


async def test_expired_token(auth: Authenticator) -> None:
    error = await _refused(auth, _rs256(exp=int(time.time()) - 60), "expired")
    assert error.details["bearer_error"] == "invalid_token"


async def test_small_clock_skew_is_tolerated(auth: Authenticator) -> None:
    now = int(time.time())
    assert (await auth.authenticate(_rs256(exp=now - 2, nbf=now + 2), None)).id == "user_1"


async def test_not_yet_valid_token(auth: Authenticator) -> None:
    await _refused(auth, _rs256(nbf=int(time.time()) + 60), "not valid yet")


async def test_wrong_issuer(auth: Authenticator) -> None:
    await _refused(auth, _rs256(iss="https://evil.example"), "issuer")


@pytest.mark.parametrize("azp", ["https://evil.example", None])
async def test_authorized_party_outside_the_allow_list(
    auth: Authenticator, azp: str | None
) -> None:
    await _refused(auth, _rs256(azp=azp), "authorized party")


async def test_audience_is_checked_when_configured(
    jwks_server: tuple[str, Jwks], jwks: Jwks
) -> None:
    auth = _jwks_auth(jwks_server[0], auth_audience="api://nexus")
    assert (await auth.authenticate(_rs256(aud="api://nexus"), None)).id == "user_1"
    await _refused(auth, _rs256(aud="api://other"), "audience")
    await _refused(auth, _rs256(), "'aud'")


async def test_unexpected_audience_is_refused(auth: Authenticator) -> None:
    await _refused(auth, _rs256(aud="api://someone-else"), "audience")


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_alg_none_is_refused(auth: Authenticator, jwks: Jwks) -> None:
    token = f"{_part({'alg': 'none', 'kid': 'k1'})}.{_part(_claims())}."
    await _refused(auth, token, "algorithm")
    assert jwks.fetches == 0


async def test_bad_signature(auth: Authenticator) -> None:
    await _refused(auth, _rs256(kid="k1", key="k2"), "invalid")


async def test_hs256_token_in_jwks_mode_is_refused(auth: Authenticator) -> None:
    # The classic confusion: an HMAC keyed with the (public) RSA key.
    public_pem = (
        KEYS["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{_part({'alg': 'HS256', 'kid': 'k1', 'typ': 'JWT'})}.{_part(_claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    await _refused(auth, token, "algorithm")


async def test_unknown_kid_refetches_once_then_refuses(auth: Authenticator, jwks: Jwks) -> None:
    await auth.authenticate(_rs256(), None)
    assert jwks.fetches == 1
    await _refused(auth, _rs256(kid="k2"), "unknown key")
    assert jwks.fetches == 2


async def test_key_rotation_is_picked_up_by_refetching(auth: Authenticator, jwks: Jwks) -> None:
    await auth.authenticate(_rs256(), None)
    jwks.keys = [_jwk("k1"), _jwk("k2")]
    assert (await auth.authenticate(_rs256(kid="k2"), None)).id == "user_1"
    assert jwks.fetches == 2


async def test_refetches_for_unknown_kids_are_rate_limited(
    jwks_server: tuple[str, Jwks], jwks: Jwks
) -> None:
    auth = _jwks_auth(jwks_server[0], cooldown=60)
    await auth.authenticate(_rs256(), None)
    for _ in range(5):
        await _refused(auth, _rs256(kid="k2"), "unknown key")
    assert jwks.fetches == 1


async def test_unreachable_jwks_is_a_503_not_a_401() -> None:
    auth = _jwks_auth("http://127.0.0.1:9/jwks.json")
    with pytest.raises(ServiceUnavailableError):
        await auth.authenticate(_rs256(), None)


def _hs256_settings(secret: str = SECRET, **overrides: Any) -> ApiSettings:
    return ApiSettings(auth_mode="hs256", auth_hs256_secret=secret, **overrides)


async def test_hs256_tokens_from_the_cli_helper_verify() -> None:
    settings = _hs256_settings()
    auth = build_authenticator(settings)
    assert (await auth.authenticate(create_token(settings, "alice", 60), None)).id == "alice"
    await _refused(auth, create_token(_hs256_settings("t" * 40), "alice"), "invalid")
    await _refused(auth, _rs256(iss="autoforge-nexus"), "invalid")
    expired = jwt.encode(
        {"sub": "alice", "iss": "autoforge-nexus", "exp": int(time.time()) - 60}, SECRET
    )
    await _refused(auth, expired, "expired")


def test_token_lifetime_is_bounded() -> None:
    with pytest.raises(ConfigurationError):
        create_token(_hs256_settings(), "alice", 0)
    with pytest.raises(ConfigurationError, match="hs256"):
        create_token(ApiSettings(), "alice")


async def test_no_auth_serves_loopback_only() -> None:
    auth = build_authenticator(ApiSettings(auth_mode="none"))
    assert (await auth.authenticate(None, "127.0.0.1")).id == "local"
    assert (await auth.authenticate("ignored", "::1")).id == "local"
    with pytest.raises(AuthError, match="loopback"):
        await auth.authenticate(None, "192.0.2.10")


def test_no_auth_refuses_a_public_bind() -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        build_authenticator(ApiSettings(auth_mode="none", host="0.0.0.0"))


@pytest.mark.parametrize(
    "sub", ["ali\u202ece", "alice\u2066", "al\x00ice", "alice\n", "bob\u200b", "a\u2028b"]
)
async def test_subjects_with_control_or_bidi_characters_are_refused(sub: str) -> None:
    auth = build_authenticator(_hs256_settings())
    claims = {"sub": sub, "iss": "autoforge-nexus", "exp": int(time.time()) + 60}
    await _refused(auth, jwt.encode(claims, SECRET), "subject")
    with pytest.raises(ConfigurationError, match="user id"):
        create_token(_hs256_settings(), sub)


async def test_ordinary_unicode_subjects_are_accepted() -> None:
    auth = build_authenticator(_hs256_settings())
    for sub in ("user_2abc", "zoë@example.com", "名前"):
        assert (await auth.authenticate(create_token(_hs256_settings(), sub), None)).id == sub
