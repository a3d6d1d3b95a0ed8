"""Who is looking, and the rules of the viewer's pages: the API's own authenticator fed from
the `Authorization` header or an http-only cookie, a CSRF token on every form, a strict CSP.

The cookie is `SameSite=Strict`, so another site can neither send it nor read it; forms carry
a token bound to the user and this process's secret, and a POST whose `Origin` is another
site is refused as well (belt and braces for the loopback viewer, which has no cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends
from starlette.requests import HTTPConnection, Request

from api.auth import UI_COOKIE, User, _authenticated
from domain.errors import AuthError, ValidationError

COOKIE = UI_COOKIE
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_SECRET = secrets.token_bytes(32)


class LoginRequired(Exception):  # noqa: N818 (a redirect, not a failure)
    """A page asked for without a usable token: the browser is sent to the login form."""


def token_of(conn: HTTPConnection) -> str | None:
    """The bearer token of the `Authorization` header, else of the viewer's cookie."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.cookies.get(COOKIE) or None


async def ui_user(conn: HTTPConnection) -> User:
    """The caller, authenticated and rate-limited exactly as by the JSON API.

    Raises:
        LoginRequired: no token, or one the authenticator refused.
    """
    try:
        return await _authenticated(conn, token_of(conn))
    except AuthError:
        raise LoginRequired("sign in to use the viewer") from None


UiUser = Annotated[User, Depends(ui_user)]


def csrf_token(user: User) -> str:
    """The form token of ``user`` for the life of this process."""
    return hmac.new(_SECRET, user.id.encode(), hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """Whether the request's `Origin` (when the browser sent one) is this server."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


@dataclass(frozen=True)
class Posted:
    """A checked form POST: who sent it and its fields (first value of each)."""

    user: User
    fields: dict[str, str]

    def text(self, name: str, max_length: int = 20_000) -> str:
        """A field's value ("" when absent).

        Raises:
            ValidationError: longer than ``max_length``.
        """
        value = self.fields.get(name, "")
        if len(value) > max_length:
            raise ValidationError(f"{name} is longer than {max_length}", parameter=name)
        return value


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form body (the body limit bounds its size).

    Raises:
        ValidationError: another content type.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ValidationError("a form is sent as application/x-www-form-urlencoded")
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


async def checked_form(request: Request, user: UiUser) -> Posted:
    """The caller and fields of a form POST whose CSRF token and origin are right.

    Raises:
        AuthError: a missing or wrong token, or another site's origin.
    """
    fields = await form_fields(request)
    if not same_origin(request) or not hmac.compare_digest(
        fields.get("csrf", "").encode(), csrf_token(user).encode()
    ):
        raise AuthError("the form is stale or came from another site; reload the page")
    return Posted(user, fields)


FormPost = Annotated[Posted, Depends(checked_form)]
