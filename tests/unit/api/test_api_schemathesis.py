"""The served OpenAPI document is honest: generated requests get documented answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from engine.db import create_db_engine, migrate
from engine.keys import Keyring, new_master_key
from engine.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="q" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)


@pytest.fixture(scope="module")
def base_url(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = create_db_engine(f"sqlite+libsql:///{tmp_path_factory.mktemp('st') / 'st.db'}")
    migrate(db)
    services = ApiServices(
        settings=Settings(),
        api=SETTINGS,
        db=db,
        redis_url=redis_url,
        keyring=Keyring.parse(new_master_key("s")),
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(services, include_streams=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    db.dispose()


def test_every_operation_conforms_to_its_schema(base_url: str, tmp_path: Path) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {create_token(SETTINGS, 'st-user')}"}
    # An opaque cursor is any string in the schema but only ours decode: a 422 is right.
    excluded = [schemathesis.checks.positive_data_acceptance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    @given(data=st.data())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def exercise(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(operations))
        case = data.draw(operation.as_strategy())
        case.call_and_validate(base_url=base_url, headers=headers, excluded_checks=excluded)

    exercise()
