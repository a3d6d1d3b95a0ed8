"""`/ui`: the viewer's pages, server-rendered; htmx swaps the case list and live tables.

Every page reads through the SDK as the signed-in user (`engine.as_owner`), so another
user's run, prompt or optimization is a 404 here exactly as in the JSON API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.services import sdk_engine
from api.streams import RUN_ID_PATTERN
from api.ui import views
from api.ui.cases import MAX_WINDOW, PAGE_SIZE, SHOWS, Show, page_of, window_of
from api.ui.security import (
    COOKIE,
    CSP,
    FormPost,
    LoginRequired,
    UiUser,
    csrf_token,
    form_fields,
    same_origin,
)
from api.ui.traces import tool_call_lines, trace_steps
from domain.errors import AuthError, NotFoundError
from engine.reports._format import interval, pct, short_version, usd
from engine.sdk import Engine, RunInfo

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters.update(pct=pct, interval=interval, usd=usd, short=short_version)
TEMPLATES.env.globals.update(SHOWS=SHOWS, trace_steps=trace_steps, tool_calls=tool_call_lines)
router = APIRouter(prefix="/ui", include_in_schema=False, default_response_class=HTMLResponse)
RunId = Annotated[str, Query(pattern=RUN_ID_PATTERN)]


async def viewer_engine(
    request: Request, user: UiUser, engine: Annotated[Engine, Depends(sdk_engine)]
) -> Engine:
    """The SDK as the signed-in user, in the workspace ``?workspace=`` names (else the
    token's organisation, else their personal one), checked as the API checks it: any
    member reads, and giving feedback needs `feedback.write`. Not a member: 404."""
    from api.acting import resolve
    from domain.workspaces import Permission

    chosen = request.query_params.get("workspace") or request.cookies.get(WORKSPACE_COOKIE)
    needs: Permission = "feedback.write" if request.method == "POST" else "workspace.read"
    acting = await resolve(request, user, chosen, needs)
    return engine.as_owner(acting.workspace_id, user.id)


ViewerEngine = Annotated[Engine, Depends(viewer_engine)]
WORKSPACE_COOKIE = "af_ui_workspace"
"""The workspace the viewer's pages act in, once chosen at `/ui/workspace/{id}`."""


def page(request: Request, name: str, user: Any = None, **context: Any) -> HTMLResponse:
    """Render ``name`` with the page's CSRF token and the viewer's CSP."""
    context["csrf"] = csrf_token(user) if user is not None else ""
    context["user"] = user
    response = TEMPLATES.TemplateResponse(request, name, context)
    response.headers["Content-Security-Policy"] = CSP
    # `no-referrer` (the API's) makes Chromium send `Origin: null` on the forms' POSTs.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def fragment(request: Request) -> bool:
    """Whether htmx asked for a part of the page (not a boosted navigation)."""
    return request.headers.get("hx-request") == "true" and "hx-boosted" not in request.headers


@router.get("/login")
def login_form(request: Request, error: str = "") -> HTMLResponse:
    """The sign-in form: paste a token (the API's bearer token)."""
    return page(request, "login.html", error=error[:200])


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token with the API's authenticator; keep it in an http-only cookie."""
    from api.auth import _authenticated

    if not same_origin(request):
        raise AuthError("sign-in from another site is refused")
    token = (await form_fields(request)).get("token", "")[:8192]
    try:
        await _authenticated(request, token.strip())
    except AuthError as exc:
        return RedirectResponse("/ui/login?" + urlencode({"error": exc.message}), status_code=303)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/workspace/{workspace_id}")
async def choose_workspace(request: Request, workspace_id: str, user: UiUser) -> Response:
    """Act in ``workspace_id`` on every page from now on (a member only: else 404)."""
    from api.acting import resolve

    acting = await resolve(request, user, workspace_id[:200], "workspace.read")
    response = RedirectResponse("/ui", status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        WORKSPACE_COOKIE, acting.workspace_id, httponly=True, samesite="strict", secure=secure
    )
    return response


@router.post("/logout")
def logout(posted: FormPost) -> Response:  # noqa: ARG001 (a logout needs the form's token)
    """Forget the cookie."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("")
def runs_page(
    request: Request,
    user: UiUser,
    engine: ViewerEngine,
    status: Annotated[str, Query(max_length=32)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Your runs: status, progress, pass rate and cost; live while any is running."""
    infos = engine.runs(limit=100)
    prompts = views.prompt_names(engine, infos)
    needle = q.strip().lower()
    rows = [
        views.list_row(engine, info)
        for info in infos
        if (not status or info.status.value == status)
        and (
            not needle
            or needle in f"{info.id} {info.name} {prompts.get(info.spec.prompt_id, '')}".lower()
        )
    ]
    live = any(not row.info.status.terminal() for row in rows)
    name = "runs_table.html" if fragment(request) else "runs.html"
    return page(request, name, user, rows=rows, prompts=prompts, status=status, q=q, live=live)


def _run_text(info: RunInfo, prompts: dict[str, str]) -> str:
    return f"{info.id} {info.name} {prompts.get(info.spec.prompt_id, '')}".lower()


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: str,
    user: UiUser,
    engine: ViewerEngine,
    show: Annotated[Show, Query()] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """A run: its matrix (versions × models) and its cases, filtered and paged.

    The first view of a run not read yet paints its first page of cases at once (one page
    from the database) and then loads the matrix with the counted case list."""
    query = {"show": show, "q": q}
    name = "cases.html" if fragment(request) else "run.html"
    first_view = name == "run.html" and show == "all" and not q and page_number == 1
    data = views.run_data(engine, run_id, read=not first_view)
    partial = data is None
    if data is None:
        data = views.first_cases(engine, run_id, PAGE_SIZE)
    cases = page_of(data.index.select(show, q), page_number, PAGE_SIZE)
    return page(
        request, name, user, run=data, cases=cases, show=show, q=q, query=query, partial=partial
    )


@router.get("/runs/{run_id}/rows")
def case_rows(
    request: Request,
    run_id: str,
    user: UiUser,
    engine: ViewerEngine,
    show: Annotated[Show, Query()] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
    start: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    count: Annotated[int, Query(ge=1, le=MAX_WINDOW)] = PAGE_SIZE,
) -> HTMLResponse:
    """Rows ``start`` to ``start + count`` of the filtered case list: what the virtual list
    asks for as it scrolls (the run read once, then slices of its cached index)."""
    data = views.full_run_data(engine, run_id)
    cases = window_of(data.index.select(show, q), start, count)
    response = page(
        request, "case_rows.html", user, run=data, cases=cases, query={"show": show, "q": q}
    )
    response.headers["X-Case-Start"] = str(cases.start)
    response.headers["X-Case-Total"] = str(cases.matching)
    return response


@router.get("/runs/{run_id}/matrix")
def matrix_fragment(
    request: Request,
    run_id: str,
    user: UiUser,
    engine: ViewerEngine,
    show: Annotated[Show, Query()] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The run's matrix (reads the whole run), and out of band its counted case list as the
    page's filters ask."""
    data = views.full_run_data(engine, run_id)
    cases = page_of(data.index.select(show, q), 1, PAGE_SIZE)
    query = {"show": show, "q": q}
    return page(request, "matrix_oob.html", user, run=data, cases=cases, query=query)


@router.get("/runs/{run_id}/report")
def report_page(run_id: str, engine: ViewerEngine) -> HTMLResponse:
    """The run's self-contained HTML report (`engine.reports`), as `/v1/runs/{id}/report`."""
    from api.routes_run_results import REPORT_CSP

    html = views.run_of(engine, run_id).report("html")
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/runs/{run_id}/cases/{case_id}")
def case_page(
    request: Request,
    run_id: str,
    case_id: str,
    user: UiUser,
    engine: ViewerEngine,
    repeat: Annotated[int, Query(ge=0, le=10_000)] = 0,
    show: Annotated[Show, Query()] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """One case: inputs, expected, every version's and model's cell side by side, with
    scores, reasons, feedback and a form to annotate each cell; the previous and next case
    the list's filter keeps, to review a queue of them."""
    data = views.full_run_data(engine, run_id)
    found = views.neighbours(data, case_id, repeat, show, q)
    if found is None:
        raise NotFoundError("no such case in this run", case_id=case_id)
    case, previous, following = found
    feedback = [
        f
        for f in views.run_of(engine, run_id).feedbacks()
        if f.case_id == case_id and f.repeat == repeat
    ]
    return page(
        request,
        "case.html",
        user,
        run=data,
        case=case,
        feedback=feedback,
        previous=previous,
        following=following,
        show=show,
        q=q,
    )


@router.post("/runs/{run_id}/feedback")
def annotate(
    run_id: str,
    posted: FormPost,
    engine: ViewerEngine,
) -> Response:
    """Record feedback on one cell (validated by the SDK), then show the case again."""
    from domain.errors import ValidationError

    case_id, version = posted.text("case_id", 200), posted.text("version", 64)
    model, verdict = posted.text("model", 200), posted.text("verdict", 8)
    score, correction = posted.text("score", 32), posted.text("correction")
    comment = posted.text("comment")
    try:
        repeat = int(posted.text("repeat", 6) or 0)
        given_score = float(score) if score.strip() else None
    except ValueError:
        raise ValidationError("repeat and score are numbers", parameter="score") from None
    views.run_of(engine, run_id).feedback(
        case_id,
        version=version,
        model=model,
        repeat=repeat,
        verdict=verdict if verdict in ("pass", "fail") else None,  # type: ignore[arg-type]
        score=given_score,
        correction=correction or None,
        comment=comment or None,
    )
    back = {"repeat": repeat, "show": posted.text("show", 16) or "all", "q": posted.text("q", 200)}
    target = f"/ui/runs/{run_id}/cases/{quote(case_id, safe='')}?" + urlencode(back)
    return RedirectResponse(target, status_code=303)


@router.get("/compare")
def compare_page(
    request: Request,
    user: UiUser,
    engine: ViewerEngine,
    a: RunId,
    b: RunId,
) -> HTMLResponse:
    """Two runs on the same cases: paired results, significance, per-case changes and diffs."""
    comparison = engine.compare(a, b)
    return page(request, "compare.html", user, c=comparison, diff=views.diff_lines, back=None)


@router.get("/runs/{run_id}/compare")
def compare_groups_page(
    request: Request,
    run_id: str,
    user: UiUser,
    engine: ViewerEngine,
    a: Annotated[str, Query(max_length=300)],
    b: Annotated[str, Query(max_length=300)],
) -> HTMLResponse:
    """Two versions (or models) of one run compared on its cases."""
    data = views.full_run_data(engine, run_id)
    comparison = views.compare_in_run(data, _group(a), _group(b))
    return page(request, "compare.html", user, c=comparison, diff=views.diff_lines, back=data)


def _group(value: str) -> tuple[str, str]:
    from domain.errors import ValidationError

    version, sep, model = value.partition("|")
    if not sep or not version or not model:
        raise ValidationError("a group is 'version|model'", parameter="a")
    return version, model


@router.get("/prompts")
def prompts_page(request: Request, user: UiUser, engine: ViewerEngine) -> HTMLResponse:
    """Your prompts."""
    return page(request, "prompts.html", user, prompts=engine.prompts.list(limit=1000))


@router.get("/prompts/{prompt}")
def prompt_page(
    request: Request,
    prompt: str,
    user: UiUser,
    engine: ViewerEngine,
    version: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """A prompt's history (branches, merges, labels), one version, and the runs of each."""
    info, entries = views.history(engine, prompt)
    shown = engine.prompts.show(info.id, version or "main")
    return page(
        request,
        "prompt.html",
        user,
        info=info,
        entries=entries,
        shown=shown,
        text=views.template_of(shown),
    )


@router.get("/prompts/{prompt}/diff")
def prompt_diff_page(
    request: Request,
    prompt: str,
    user: UiUser,
    engine: ViewerEngine,
    a: Annotated[str, Query(max_length=200)],
    b: Annotated[str, Query(max_length=200)],
) -> HTMLResponse:
    """How version ``b`` differs from version ``a``."""
    info = engine.prompts.get(prompt)
    diff = engine.prompts.diff(info.id, a, b)
    return page(
        request,
        "diff.html",
        user,
        info=info,
        diff=diff,
        template=views.unified_lines(diff.template),
        settings=views.unified_lines(diff.settings),
    )


@router.get("/optimizations")
def optimizations_page(request: Request, user: UiUser, engine: ViewerEngine) -> HTMLResponse:
    """Your optimizations and how far each got."""
    return page(request, "optimizations.html", user, items=engine.optimizations(limit=100))


@router.get("/optimizations/{optimization_id}")
def optimization_page(
    request: Request, optimization_id: str, user: UiUser, engine: ViewerEngine
) -> HTMLResponse:
    """One optimization: best score against calls, the Pareto front and the lineage."""
    from engine.reports._optimization_pages import _trajectory_chart
    from engine.reports._optimization_rows import (
        FRONT_COLUMNS,
        LINEAGE_COLUMNS,
        front_rows,
        lineage_rows,
        summary_rows,
    )

    data = views.optimization_data(engine, optimization_id)
    info = data.get("optimization") or {}
    live = info.get("status") in ("pending", "running")
    return page(
        request,
        "optimization.html",
        user,
        data=data,
        info=info,
        chart=_trajectory_chart(data),
        summary=summary_rows(data),
        front=front_rows(data),
        lineage=lineage_rows(data),
        front_columns=FRONT_COLUMNS,
        lineage_columns=LINEAGE_COLUMNS,
        live=live,
    )


def login_redirect(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    """Where a page asked for without a usable token sends the browser."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse("/ui/login", status_code=303)


def error_page(fallback: Any) -> Any:
    """An error handler: ``fallback``'s problem+json, shown as a page to a browser on `/ui`
    (the same status, title and detail; htmx swaps it in too)."""

    async def handle(conn: Any, exc: Exception) -> Response:
        answer: Response = await fallback(conn, exc)
        wants_page = conn.scope["type"] == "http" and conn.url.path.startswith("/ui")
        if not wants_page or "text/html" not in conn.headers.get("accept", ""):
            return answer
        problem = json.loads(bytes(answer.body))
        shown = page(conn, "error.html", None, problem=problem)
        shown.status_code = answer.status_code
        shown.headers["HX-Retarget"] = "main"
        for name in ("retry-after", "www-authenticate"):
            if name in answer.headers:
                shown.headers[name] = answer.headers[name]
        return shown

    return handle
