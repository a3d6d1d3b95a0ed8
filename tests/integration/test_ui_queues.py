"""Over the real app in-process: the viewer's queue pages check the JSON API's permissions
in the chosen workspace (any member reads, `queue.work` answers, `queue.manage` makes a
queue), answer as the signed-in user, and refuse a form without its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
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
    auth_hs256_secret="q" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
ORIGIN = "http://testserver"


@dataclass
class Team:
    client: TestClient
    engine: Engine
    workspace: str
    seeded: Seeded
    queue_id: str

    def as_(self, user: str) -> dict[str, str]:
        self.client.cookies.clear()
        self.client.cookies.set("af_ui_workspace", self.workspace)
        self.client.cookies.set("af_ui_token", create_token(SETTINGS, user))
        return {"Origin": ORIGIN}

    def csrf(self, path: str = "/ui/queues") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert found
        return found.group(1)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    data: Path = tmp_path_factory.mktemp("ui-queues")
    engine = Engine(data_dir=data, executor="inline")
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
    with TestClient(create_app(services), client=("127.0.0.1", 40001)) as client:
        ann = {"Authorization": f"Bearer {create_token(SETTINGS, 'ann')}"}
        workspace = client.post("/v1/workspaces", json={"name": "qa"}, headers=ann).json()["id"]
        for user, role in (("vic", "viewer"), ("bob", "annotator")):
            member = {"user_id": user, "role": role}
            added = client.post(f"/v1/workspaces/{workspace}/members", json=member, headers=ann)
            assert added.is_success, added.text
        shared = engine.as_owner(workspace, "ann")
        seeded = seed_run(shared, cases=8)
        queue = shared.queues.create(seeded.run_id, filter="all", sample=4, name="four")
        yield Team(client, engine, workspace, seeded, queue.id)
    services.close()
    engine.close()


def test_any_member_reads_the_queue_and_its_progress(team: Team) -> None:
    team.as_("vic")
    listed = team.client.get("/ui/queues")
    assert listed.status_code == 200 and "four" in listed.text
    shown = team.client.get(f"/ui/queues/{team.queue_id}")
    assert shown.status_code == 200 and "0/4 items complete" in shown.text
    team.client.cookies.set("af_ui_token", create_token(SETTINGS, "mallory"))
    assert team.client.get(f"/ui/queues/{team.queue_id}").status_code == 404


def test_a_viewer_may_not_work_or_make_a_queue(team: Team) -> None:
    origin = team.as_("vic")
    csrf = team.csrf()
    item = team.client.get(f"/ui/queues/{team.queue_id}/items/0")
    assert item.status_code == 403
    for path, form in (
        (f"/ui/queues/{team.queue_id}/next", {}),
        (f"/ui/queues/{team.queue_id}/items/0/submit", {"verdict": "fail"}),
        ("/ui/queues", {"run": team.seeded.run_id}),
    ):
        refused = team.client.post(path, data={**form, "csrf": csrf}, headers=origin)
        assert refused.status_code == 403, (path, refused.text)
    assert team.engine.as_owner(team.workspace, "ann").queues.get(team.queue_id).answers() == []


def test_an_annotator_works_the_queue_as_themself_but_may_not_make_one(team: Team) -> None:
    origin = team.as_("bob")
    csrf = team.csrf()
    claimed = team.client.post(
        f"/ui/queues/{team.queue_id}/next",
        data={"csrf": csrf},
        headers=origin,
        follow_redirects=False,
    )
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/ui/queues/{team.queue_id}/items/0"
    item = team.client.get(claimed.headers["location"])
    assert item.status_code == 200 and 'id="queue-answer"' in item.text
    without = team.client.post(
        f"/ui/queues/{team.queue_id}/items/0/submit", data={"verdict": "fail"}, headers=origin
    )
    assert without.status_code == 401
    answer = {"verdict": "fail", "correction": "Paris", "comment": "wrong", "csrf": csrf}
    given = team.client.post(
        f"/ui/queues/{team.queue_id}/items/0/submit",
        data=answer,
        headers=origin,
        follow_redirects=False,
    )
    assert given.headers["location"] == f"/ui/queues/{team.queue_id}/items/1"
    queue = team.engine.as_owner(team.workspace, "ann").queues.get(team.queue_id)
    assert [(a.position, a.annotator, a.verdict) for a in queue.answers()] == [(0, "bob", "fail")]
    run = team.engine.as_owner(team.workspace, "ann").run(team.seeded.run_id)
    (feedback,) = run.feedbacks()
    assert (feedback.author, feedback.correction, feedback.comment) == ("bob", "Paris", "wrong")
    twice = team.client.post(
        f"/ui/queues/{team.queue_id}/items/0/submit", data=answer, headers=origin
    )
    assert twice.status_code == 409
    made = team.client.post(
        "/ui/queues", data={"run": team.seeded.run_id, "csrf": csrf}, headers=origin
    )
    assert made.status_code == 403


def test_the_owner_makes_a_queue_from_the_page(team: Team) -> None:
    origin = team.as_("ann")
    csrf = team.csrf()
    form = {"run": team.seeded.run_id, "filter": "failed", "per_item": "2", "name": "fails"}
    made = team.client.post(
        "/ui/queues", data={**form, "csrf": csrf}, headers=origin, follow_redirects=False
    )
    assert made.status_code == 303
    queue_id = made.headers["location"].rsplit("/", 1)[1]
    info = team.engine.as_owner(team.workspace, "ann").queues.get(queue_id).info()
    assert (info.name, info.filter.where, info.annotators_per_item) == ("fails", "failed", 2)
    bad = team.client.post(
        "/ui/queues", data={**form, "filter": "nope", "csrf": csrf}, headers=origin
    )
    assert bad.status_code == 422
