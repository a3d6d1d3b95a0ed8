from __future__ import annotations

import pickle

from domain.errors import ConflictError, NexusError, NotFoundError, ProviderError


def test_errors_survive_pickling_with_details() -> None:
    original = ProviderError("upstream 503", retryable=True, model="openai/sim-small")
    copy = pickle.loads(pickle.dumps(original))
    assert isinstance(copy, ProviderError)
    assert copy.retryable is True
    assert copy.details == {"retryable": True, "model": "openai/sim-small"}
    assert str(copy) == "upstream 503"


def test_codes_are_stable_and_distinct() -> None:
    codes = {cls.code for cls in NexusError.__subclasses__()}
    assert len(codes) == len(NexusError.__subclasses__())
    assert NotFoundError.code == "not-found" and NotFoundError.status == 404
    assert ConflictError("x", reason="stale").to_dict() == {
        "code": "conflict",
        "message": "x",
        "reason": "stale",
    }
