"""The control channel on a real Redis: a fake backend stands in for the owner's scheduler."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.errors import ConflictError, ServiceUnavailableError, ValidationError
from engine.control import ControlClient, ControlServer
from engine.control.protocol import MAX_REQUEST_BYTES

pytestmark = pytest.mark.integration


class FakeOwner:
    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def submit(self, context: Any) -> None:
        self.submitted.append(context)

    def cancel(self, run_id: str) -> bool:
        raise ConflictError(f"run {run_id} is already completed", reason="run-finished")

    def recover(self, run_id: str) -> None:
        return None

    def progress(self, run_id: str) -> dict[str, Any] | None:
        return {"run": run_id, "done": 3}

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid()}


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:16]


@pytest.fixture
def owner(redis_url: str, tag: str) -> Iterator[FakeOwner]:
    backend = FakeOwner()
    server = ControlServer(redis_url, tag, backend).start()
    yield backend
    server.stop()


def test_calls_reach_the_owner_and_its_errors_come_back_as_they_were_raised(
    redis_url: str, tag: str, owner: FakeOwner
) -> None:
    client = ControlClient(redis_url, tag, os.getpid())
    client.submit({"run_id": "run_1", "api_keys": {"OPENAI_API_KEY": "sk-x"}})
    assert owner.submitted == [{"run_id": "run_1", "api_keys": {"OPENAI_API_KEY": "sk-x"}}]
    assert client.progress("run_1") == {"run": "run_1", "done": 3}
    with pytest.raises(ConflictError) as raised:
        client.cancel("run_1")
    assert raised.value.details["reason"] == "run-finished"


def test_a_request_is_gone_from_redis_once_read(
    redis_url: str, redis_client: Any, tag: str, owner: FakeOwner
) -> None:
    client = ControlClient(redis_url, tag, os.getpid())
    client.submit({"api_keys": {"OPENAI_API_KEY": "sk-control-secret"}})
    left = [k for k in redis_client.scan_iter("af:control:*") if "reply" not in k]
    assert left == []
    values = [redis_client.dump(k) or b"" for k in redis_client.scan_iter("af:control:*")]
    assert not any(b"sk-control-secret" in v for v in values)


def test_a_dead_owner_is_an_error_within_seconds_and_its_request_is_dropped(
    redis_url: str, redis_client: Any, tag: str
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    client = ControlClient(redis_url, tag, gone.pid)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="exited"):
        client.submit({"api_keys": {"OPENAI_API_KEY": "sk-unread"}})
    assert time.monotonic() - started < 10
    assert list(redis_client.scan_iter("af:control:request:*")) == []


def test_a_request_beyond_the_limit_is_refused_before_it_is_sent(redis_url: str, tag: str) -> None:
    client = ControlClient(redis_url, tag, os.getpid())
    with pytest.raises(ValidationError, match="more than the engine takes"):
        client.submit("x" * (MAX_REQUEST_BYTES + 1))
