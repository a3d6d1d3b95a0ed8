"""OpenAPI helpers: documented problem responses for routes, and the problem media type.

Routers come from `api_router(...)` (docstring → summary) and declare their error responses
with `problem_responses(401, 404, …)`; FastAPI files
their schemas under `application/json`, which `install_openapi` renames to
`application/problem+json` for every 4xx/5xx response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from api.problems import PROBLEM_MEDIA_TYPE, Problem, ValidationProblem, problem_body
from domain.workspaces import GRANTS, ROLES

_EXAMPLES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("malformed-request", "the body is not valid JSON", {}),
    401: ("unauthorized", "the token has expired", {}),
    403: ("forbidden", "this action is not allowed", {}),
    404: ("not-found", "no such resource", {}),
    409: ("conflict", "the resource changed meanwhile", {}),
    413: ("payload-too-large", "the request body exceeds 1048576 bytes", {"max_bytes": 1048576}),
    422: (
        "validation",
        "the request has invalid fields",
        {
            "errors": [
                {
                    "loc": ["query", "limit"],
                    "msg": "Input should be less than or equal to 200",
                    "type": "less_than_equal",
                }
            ]
        },
    ),
    429: ("rate-limited", "more than 60 requests in a minute", {"retry_after": 12, "limit": 60}),
    500: ("internal", "the server could not complete the request", {}),
    503: ("service-unavailable", "redis is not reachable", {}),
}
_DESCRIPTIONS = {
    400: "Malformed request (e.g. unparsable JSON)",
    401: "Missing or invalid bearer token",
    403: "Your role in the workspace lacks the permission",
    404: "Not found (also for other workspaces and their resources)",
    409: "Conflict",
    413: "Request body too large",
    422: "Invalid parameters or body",
    429: "Rate limit exceeded",
    500: "Unexpected server error",
    503: "A dependency is unavailable",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer` challenge", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting each status as an RFC 9457 problem with an example."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, detail, extensions = _EXAMPLES[status]
        example = problem_body(status, code, detail, None, **extensions)
        example.update(instance="/v1/provider-keys/openai", request_id="9f1c2e")
        entry: dict[str, Any] = {
            "model": ValidationProblem if status == 422 else Problem,
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"example": example}},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        documented[status] = entry
    return documented


AUTHENTICATED = problem_responses(401, 422, 429)
"""Errors every authenticated route can answer."""


class DocumentedRoute(APIRoute):
    """A route whose one-line docstring is its OpenAPI summary (further lines describe it)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.summary is None and self.description:
            first, _, rest = self.description.strip().partition("\n")
            self.summary, self.description = first.strip(), rest.strip()


def api_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` (same arguments) whose routes take their summaries from docstrings."""
    return APIRouter(route_class=DocumentedRoute, **kwargs)


def install_openapi(app: FastAPI) -> None:
    """File every error response of ``app``'s schema under `application/problem+json`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            body_errors = problem_responses(400, 413)
            permissions = _route_permissions(app)
            for path, item in schema.get("paths", {}).items():
                for method, operation in item.items():
                    if not isinstance(operation, dict):
                        continue
                    _document_permission(operation, permissions.get((path, method.upper())))
                    responses = operation.setdefault("responses", {})
                    if "requestBody" in operation:
                        _document_body_errors(responses, body_errors)
                    _as_problem_json(responses)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _route_permissions(app: FastAPI) -> dict[tuple[str, str], str]:
    # A workspace dependency carries the permission it checks (`api.acting`).
    found: dict[tuple[str, str], str] = {}

    def walk(dependant: Any) -> str | None:
        for dependency in dependant.dependencies:
            permission = getattr(dependency.call, "permission", None)
            if isinstance(permission, str):
                return permission
            if (inner := walk(dependency)) is not None:
                return inner
        return None

    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (permission := walk(route.dependant)) is not None:
            for method in context.methods or ():
                found[(str(context.path_format), method)] = permission
    return found


def _document_permission(operation: dict[str, Any], permission: str | None) -> None:
    if permission is None:
        return
    operation["x-autoforge-permission"] = permission
    if permission in GRANTS["owner"]:
        roles = ", ".join(role for role in ROLES if permission in GRANTS[role])
        note = f"Needs `{permission}` in the workspace (roles: {roles})."
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
        # Every workspace route can answer 403 (role) and 404 (not a member).
        _document_body_errors(operation.setdefault("responses", {}), problem_responses(403, 404))


def _document_body_errors(
    responses: dict[str, Any], errors: dict[int | str, dict[str, Any]]
) -> None:
    # Any route that reads a body can answer 400 (unparsable) and 413 (too large); the same
    # filing serves other errors every route of a kind can answer.
    for status, entry in errors.items():
        example = entry["content"]["application/json"]["example"]
        responses.setdefault(
            str(status),
            {
                "description": entry["description"],
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Problem"},
                        "example": example,
                    }
                },
            },
        )


def _as_problem_json(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        content = response.get("content", {})
        if status[:1] in "45" and "application/json" in content:
            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
