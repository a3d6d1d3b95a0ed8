"""Who is calling: a bearer JWT (Clerk-compatible JWKS or self-hosted HS256), or nobody on
loopback when auth is off. The token's `sub` is the user id that owns every row.

Use `CurrentUser` in a route to require an authenticated, rate-limited caller.
"""

from __future__ import annotations

import ipaddress
import time
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import anyio
import jwt
import structlog
from fastapi import Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from api.config import ApiSettings
from api.ratelimit import (
    client_address,
    count_failed_authentication,
    enforce_rate_limit,
    refuse_blocked_address,
)
from domain.errors import AuthError, ConfigurationError, ServiceUnavailableError
from domain.workspaces import is_shared_id

LOCAL_USER = "local"
UI_COOKIE = "af_ui_token"
"""The viewer's http-only, SameSite=Strict cookie holding the bearer token (`api.ui`)."""
DEFAULT_ISSUER = "autoforge-nexus"
JWKS_ALGORITHMS = ["RS256"]
MAX_TTL_SECONDS = 30 * 24 * 3600
_REQUIRED_CLAIMS = ["exp", "iss", "sub"]

# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code
# points, and line/paragraph separators: a `sub` is logged, stored as an owner and shown, and
# these forge log lines or make one id look like another.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

bearer_scheme = HTTPBearer(
    auto_error=False, description="A JWT: from your identity provider, or `autoforge token create`."
)


@dataclass(frozen=True)
class User:
    """An authenticated caller."""

    id: str
    claims: Mapping[str, Any] = field(default_factory=dict)


class Authenticator(Protocol):
    """Turns a bearer token (or its absence) into a `User`, or raises `AuthError`."""

    mode: str

    async def authenticate(self, token: str | None, client_host: str | None) -> User: ...


def is_user_id(value: object) -> bool:
    """1 to 200 characters, none of them control, bidi or otherwise invisible, and not in
    the namespace of shared workspaces (``ws_…``): a user's id is their personal workspace's
    id, which must never name another workspace."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 200
        and not is_shared_id(value)
        and not any(unicodedata.category(char) in _UNSAFE_CATEGORIES for char in value)
    )


def _invalid(reason: str) -> AuthError:
    return AuthError(reason, bearer_error="invalid_token")


def _missing(token: str | None) -> str:
    if not token:
        raise AuthError("a bearer token is required")
    return token


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


class NoAuth:
    """Auth off: every loopback caller is the user `local`; anyone else is refused."""

    mode = "none"

    async def authenticate(self, token: str | None, client_host: str | None) -> User:  # noqa: ARG002
        if not is_loopback(client_host):
            raise AuthError("authentication is off, so only loopback clients are served")
        return User(LOCAL_USER)


@dataclass
class _Verifier:
    issuer: str
    audience: str | None
    leeway: float

    def decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the token's issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the token's audience is not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the token has no {exc.claim!r} claim") from None
        except jwt.InvalidTokenError:
            raise _invalid("the token is invalid") from None
        if not is_user_id(claims.get("sub")):
            raise _invalid("the token's subject is not a user id")
        return claims


class Hs256Authenticator:
    """Self-hosted tokens signed with a shared secret (`autoforge token create`)."""

    mode = "hs256"

    def __init__(self, secret: str, verifier: _Verifier) -> None:
        self._secret = secret
        self._verifier = verifier

    async def authenticate(self, token: str | None, client_host: str | None) -> User:  # noqa: ARG002
        claims = self._verifier.decode(_missing(token), self._secret, ["HS256"])
        return User(claims["sub"], claims)


class JwksAuthenticator:
    """RS256 tokens verified against a JWKS (Clerk and other OIDC providers).

    Beyond PyJWT's checks (signature, `exp`, `nbf`, `iss`, `aud`) the token's `azp` must be
    in the allow-list when one is configured. An unknown `kid` refetches the JWKS once (key
    rotation), at most once per cooldown; then it is refused.
    """

    mode = "jwks"

    def __init__(
        self, client: jwt.PyJWKClient, verifier: _Verifier, allowed_azp: list[str]
    ) -> None:
        self._client = client
        self._verifier = verifier
        self._allowed_azp = frozenset(allowed_azp)

    async def authenticate(self, token: str | None, client_host: str | None) -> User:  # noqa: ARG002
        token = _missing(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _invalid("the token is malformed") from None
        if header.get("alg") not in JWKS_ALGORITHMS:
            raise _invalid("the token's algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("the token names no signing key")
        # PyJWKClient fetches with blocking urllib: keep it off the event loop.
        signing_key = await anyio.to_thread.run_sync(self._signing_key, kid)
        claims = self._verifier.decode(token, signing_key.key, JWKS_ALGORITHMS)
        if self._allowed_azp and claims.get("azp") not in self._allowed_azp:
            raise _invalid("the token's authorized party is not accepted")
        return User(claims["sub"], claims)

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise ServiceUnavailableError(
                "the identity provider's keys cannot be fetched"
            ) from None
        except jwt.PyJWKClientError:
            raise _invalid("the token was signed by an unknown key") from None
        except jwt.PyJWKSetError:
            raise ServiceUnavailableError("the identity provider's key set is unusable") from None


def build_authenticator(settings: ApiSettings) -> Authenticator:
    """The authenticator for ``settings.auth_mode``.

    Raises:
        ConfigurationError: auth is off while the API binds beyond loopback.
    """
    if settings.auth_mode == "none":
        if not is_loopback(settings.host):
            raise ConfigurationError("AUTOFORGE_AUTH_MODE=none needs a loopback AUTOFORGE_API_HOST")
        return NoAuth()
    if settings.auth_mode == "hs256":
        assert settings.auth_hs256_secret is not None  # settings validated it
        verifier = _Verifier(
            settings.auth_issuer or DEFAULT_ISSUER,
            settings.auth_audience,
            settings.jwt_leeway_seconds,
        )
        return Hs256Authenticator(settings.auth_hs256_secret.get_secret_value(), verifier)
    assert settings.auth_jwks_url and settings.auth_issuer  # settings validated them
    client = jwt.PyJWKClient(
        settings.auth_jwks_url,
        cache_jwk_set=True,
        lifespan=settings.jwks_cache_seconds,
        timeout=settings.jwks_timeout_seconds,
        cooldown_duration=settings.jwks_refetch_cooldown_seconds,
    )
    verifier = _Verifier(settings.auth_issuer, settings.auth_audience, settings.jwt_leeway_seconds)
    return JwksAuthenticator(client, verifier, settings.auth_allowed_azp)


def create_token(settings: ApiSettings, user_id: str, ttl_seconds: int = 3600) -> str:
    """A signed HS256 token for ``user_id`` (self-hosted mode).

    Raises:
        ConfigurationError: not in hs256 mode, or an unreasonable lifetime.
    """
    if settings.auth_mode != "hs256" or settings.auth_hs256_secret is None:
        raise ConfigurationError("tokens are issued in hs256 mode only (AUTOFORGE_AUTH_MODE)")
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ConfigurationError(f"a token lives 1 to {MAX_TTL_SECONDS} seconds")
    if not is_user_id(user_id):
        raise ConfigurationError(
            "a user id is 1 to 200 characters, without control or bidi characters,"
            " and does not start with 'ws_'"
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "iss": settings.auth_issuer or DEFAULT_ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if settings.auth_audience:
        claims["aud"] = settings.auth_audience
    return jwt.encode(claims, settings.auth_hs256_secret.get_secret_value(), algorithm="HS256")


async def _authenticated(conn: HTTPConnection, token: str | None) -> User:
    authenticator: Authenticator = conn.app.state.authenticator
    api: ApiSettings = conn.app.state.services.api
    address = client_address(conn.scope, api.trusted_proxies)
    await refuse_blocked_address(conn, address)
    try:
        user = await authenticator.authenticate(token, conn.client.host if conn.client else None)
    except AuthError:
        await count_failed_authentication(conn, address)
        raise
    structlog.contextvars.bind_contextvars(user_id=user.id)
    await enforce_rate_limit(conn, user.id)
    return user


async def current_user(
    conn: HTTPConnection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    """The caller, from `Authorization: Bearer …`; counts against their rate limit."""
    return await _authenticated(conn, credentials.credentials if credentials else None)


async def stream_user(
    conn: HTTPConnection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    access_token: Annotated[
        str | None,
        Query(description="For browsers' EventSource/WebSocket, which cannot set headers."),
    ] = None,
) -> User:
    """Like `current_user`, also accepting `?access_token=` and the viewer's SameSite=Strict
    cookie (streams only: a browser's WebSocket cannot set headers)."""
    token = credentials.credentials if credentials else access_token
    if token is None and UI_COOKIE in conn.cookies:
        # A cookie rides along whoever opens the socket: only this site's own pages may.
        origin = conn.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != conn.headers.get("host", ""):
            raise AuthError("the viewer's cookie is accepted from its own pages only")
        token = conn.cookies[UI_COOKIE]
    return await _authenticated(conn, token)


CurrentUser = Annotated[User, Depends(current_user)]
StreamUser = Annotated[User, Depends(stream_user)]
