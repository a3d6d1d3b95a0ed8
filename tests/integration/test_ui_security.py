"""Over the real app in-process: the viewer's pages need a token (header or cookie), forms
need their CSRF token and this site's origin, and every page carries a strict CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from engine.sdk import Engine
from tests.browser.seeding import Seeded, seed_run

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="s" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
ORIGIN = "http://testserver"


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Seeded, str, Engine]]:
    data: Path = tmp_path_factory.mktemp("ui-security")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
    seeded = seed_run(engine.as_owner("ann"), cases=6)
    with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
        yield client, seeded, create_token(SETTINGS, "ann"), engine
    services.close()
    engine.close()


def _csrf(client: TestClient, seeded: Seeded) -> str:
    page = client.get(f"/ui/runs/{seeded.run_id}/cases/case-00000")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found
    return found.group(1)


def test_pages_without_a_token_go_to_the_sign_in_form(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    client, seeded, _, _ = app
    client.cookies.clear()
    for path in ("/ui", f"/ui/runs/{seeded.run_id}", "/ui/prompts"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")


def test_a_bad_token_sets_no_cookie_and_a_good_one_an_http_only_strict_one(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    client, _, token, _ = app
    client.cookies.clear()
    bad = client.post(
        "/ui/login", data={"token": "nope"}, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    assert bad.status_code == 303 and bad.headers["location"].startswith("/ui/login?error=")
    assert "set-cookie" not in bad.headers
    good = client.post(
        "/ui/login", data={"token": token}, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    runs = client.get("/ui")
    assert runs.status_code == 200 and "capitals seeded" in runs.text
    csp = runs.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert "<script>" not in runs.text


def test_a_form_from_another_site_or_without_its_token_changes_nothing(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    client, seeded, token, _ = app
    client.cookies.clear()
    client.cookies.set("af_ui_token", token)
    csrf = _csrf(client, seeded)
    engine_feedback = f"/v1/runs/{seeded.run_id}/feedback"
    auth = {"Authorization": f"Bearer {token}"}
    before = len(client.get(engine_feedback, headers=auth).json()["items"])
    form = {
        "case_id": "case-00000",
        "version": seeded.versions[0],
        "model": seeded.models[0],
        "verdict": "fail",
    }
    target = f"/ui/runs/{seeded.run_id}/feedback"
    for extra, headers in (
        ({}, {"Origin": ORIGIN}),
        ({"csrf": "0" * 64}, {"Origin": ORIGIN}),
        ({"csrf": csrf}, {"Origin": "https://evil.example"}),
    ):
        refused = client.post(target, data={**form, **extra}, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert len(client.get(engine_feedback, headers=auth).json()["items"]) == before
    saved = client.post(
        target, data={**form, "csrf": csrf}, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert len(client.get(engine_feedback, headers=auth).json()["items"]) == before + 1


def test_another_users_token_finds_no_run(app: tuple[TestClient, Seeded, str, Engine]) -> None:
    client, seeded, _, _ = app
    client.cookies.clear()
    other = {"Authorization": f"Bearer {create_token(SETTINGS, 'mallory')}"}
    for path in (
        f"/ui/runs/{seeded.run_id}",
        f"/ui/runs/{seeded.run_id}/cases/case-00000",
        f"/ui/runs/{seeded.run_id}/rows?start=0&count=5",
    ):
        assert client.get(path, headers=other).status_code == 404
    assert client.get(f"/ui/prompts/{seeded.prompt}", headers=other).status_code == 404


def test_the_virtual_list_reads_windows_of_the_filtered_cases(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    client, seeded, token, _ = app
    client.cookies.clear()
    ann = {"Authorization": f"Bearer {token}"}
    rows = client.get(f"/ui/runs/{seeded.run_id}/rows?start=4&count=5", headers=ann)
    assert rows.status_code == 200 and rows.headers["x-case-total"] == str(seeded.cases)
    assert rows.headers["x-case-start"] == "1"  # clamped: the window ends at the last case
    assert re.findall(r'data-index="(\d+)"', rows.text) == ["1", "2", "3", "4", "5"]
    assert "<html" not in rows.text and "unsafe" not in rows.headers["content-security-policy"]
    too_many = client.get(f"/ui/runs/{seeded.run_id}/rows?count=201", headers=ann)
    assert too_many.status_code == 422


def test_the_runs_list_summarises_a_large_run_once_it_is_read(
    app: tuple[TestClient, Seeded, str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.ui import views

    client, _, token, engine = app
    client.cookies.clear()
    big = seed_run(engine.as_owner("ann"), cases=5, prompt="big")
    monkeypatch.setattr(views, "LIST_READ_LIMIT", 10)  # the run's 20 cells are "many"
    auth = {"Authorization": f"Bearer {token}"}
    row = _row(client.get("/ui", headers=auth).text, big.run_id)
    assert "open to summarise" in row
    assert client.get(f"/ui/runs/{big.run_id}/matrix", headers=auth).status_code == 200
    rate = engine.as_owner("ann").run(big.run_id).summary()
    passed = sum(g.n_passed for g in rate.groups) / sum(g.n_graded for g in rate.groups)
    row = _row(client.get("/ui", headers=auth).text, big.run_id)
    assert "open to summarise" not in row and f"{passed:.1%}" in row


def _row(html: str, run_id: str) -> str:
    found = re.search(rf"<tr>\s*<td><a href=\"/ui/runs/{run_id}\">.*?</tr>", html, re.S)
    assert found, html
    return found.group(0)


def test_the_cookie_opens_a_runs_stream_from_this_site_only(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    from starlette.websockets import WebSocketDisconnect

    client, seeded, token, _ = app
    client.cookies.clear()
    client.cookies.set("af_ui_token", token)
    path = f"/v1/streams/runs/{seeded.run_id}/events"
    with client.websocket_connect(path, headers={"Origin": ORIGIN}) as socket:
        socket.close()
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(path, headers={"Origin": "https://evil.example"}) as socket,
    ):
        socket.receive_json()


def test_pages_act_in_the_chosen_workspace_with_its_roles(
    app: tuple[TestClient, Seeded, str, Engine],
) -> None:
    client, _, token, engine = app
    client.cookies.clear()
    ann = {"Authorization": f"Bearer {token}"}
    team = client.post("/v1/workspaces", json={"name": "ui team"}, headers=ann).json()["id"]
    member = {"user_id": "vic", "role": "viewer"}
    assert client.post(f"/v1/workspaces/{team}/members", json=member, headers=ann).is_success
    shared = seed_run(engine.as_owner(team, "ann"), cases=2)
    vic = {"Authorization": f"Bearer {create_token(SETTINGS, 'vic')}"}
    page = f"/ui/runs/{shared.run_id}"
    assert client.get(page, headers=vic).status_code == 404  # vic's personal workspace
    assert client.get(page, params={"workspace": team}, headers=vic).status_code == 200
    chosen = client.get(f"/ui/workspace/{team}", headers=vic, follow_redirects=False)
    assert chosen.status_code == 303 and "httponly" in chosen.headers["set-cookie"].lower()
    client.cookies.set("af_ui_workspace", team)
    assert client.get(page, headers=vic).status_code == 200  # the cookie keeps the choice
    client.cookies.set("af_ui_token", create_token(SETTINGS, "vic"))
    csrf = _csrf(client, shared)
    form = {"case_id": "case-00000", "version": shared.versions[0], "model": shared.models[0]}
    refused = client.post(
        f"/ui/runs/{shared.run_id}/feedback",
        data={**form, "verdict": "fail", "csrf": csrf},
        headers={"Origin": ORIGIN},
    )
    assert refused.status_code == 403  # a viewer reads, never annotates
    client.cookies.clear()
    mallory = {"Authorization": f"Bearer {create_token(SETTINGS, 'mallory')}"}
    assert client.get(page, params={"workspace": team}, headers=mallory).status_code == 404
    assert client.get(f"/ui/workspace/{team}", headers=mallory).status_code == 404
