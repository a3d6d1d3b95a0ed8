"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A Ray temp dir of the test's own; short: Ray's unix socket paths under it must stay
    below the 108-byte limit."""
    path = Path(tempfile.mkdtemp(prefix="afray-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
