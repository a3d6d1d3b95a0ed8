"""The viewer: server-rendered pages at `/ui` over the SDK, behind the API's auth.

`install(app)` adds its routes, its static files (htmx, vendored; our CSS and JS) and the
redirect to the sign-in form. `autoforge view` serves it on loopback without auth.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.ui.queue_pages import router as queue_router
from api.ui.routes import TEMPLATES, error_page, login_redirect, router
from api.ui.security import LoginRequired
from domain.errors import NexusError, ValidationError

STATIC = Path(__file__).parent / "static"

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Serve the viewer from ``app`` at `/ui`; after the app's own error handlers, which a
    browser asking for a page gets as an HTML page instead of problem+json."""
    for error in (NexusError, ValidationError):
        fallback = app.exception_handlers.get(error)
        if fallback is not None:
            app.add_exception_handler(error, error_page(fallback))
    app.include_router(router)
    app.include_router(queue_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(LoginRequired, login_redirect)
    for name in TEMPLATES.env.list_templates():  # compiled now, not on a user's first visit
        TEMPLATES.env.get_template(name)
