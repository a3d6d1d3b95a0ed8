"""`engine.timings`: off it records nothing; on, each phase once with its total."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import timings


@pytest.fixture
def fresh() -> Iterator[None]:
    was = timings.enabled()
    timings.reset()
    yield
    timings.enable(was)
    timings.reset()


def test_off_nothing_is_recorded(fresh: None) -> None:
    timings.enable(False)
    with timings.phase("db"):
        pass
    timings.moment("first lease")
    assert timings.snapshot() == {}


def test_on_phases_add_up_and_a_moment_is_its_first_time(fresh: None) -> None:
    timings.enable()
    for _ in range(2):
        with timings.phase("db"):
            sum(range(10_000))
    timings.moment("first lease")
    first = timings.snapshot()["first lease"]
    timings.moment("first lease")
    shown = timings.snapshot()
    assert shown["first lease"] == first > 0
    assert 0 <= shown["db"] < shown["first lease"]
    lines = timings.table().splitlines()
    assert lines[0].split() == ["phase", "at", "s", "took", "s"]
    assert [line.split("  ")[0] for line in lines[1:]] == ["db", "first lease"]
