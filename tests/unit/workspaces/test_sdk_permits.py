"""The SDK's permission table covers every public method of the SDK's objects, agrees with
the route permissions it mirrors, and its checks refuse exactly what the role lacks."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import engine.sdk
from domain.errors import ForbiddenError
from domain.workspaces import GRANTS, ROLES
from engine.sdk.permits import NEEDS, READS, check, guard


def _classes() -> dict[str, type]:
    found = {}
    for module in pkgutil.iter_modules(engine.sdk.__path__):
        loaded = importlib.import_module(f"engine.sdk.{module.name}")
        for name, cls in inspect.getmembers(loaded, inspect.isclass):
            if cls.__module__ == loaded.__name__ and name in READS:
                found[name] = cls
    return found


def _public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")} - {"owner", "user", "id"}


def test_every_public_method_is_a_read_or_names_its_permission() -> None:
    classes = _classes()
    assert set(classes) == set(READS)  # the table names only classes that exist
    for name, cls in classes.items():
        needs = set(NEEDS.get(name, {}))
        assert not needs & READS[name], name
        assert _public(cls) - {a for a, v in vars(cls).items() if isinstance(v, str | int)} == (
            needs | READS[name]
        ), name


def test_permissions_named_are_the_tables_and_each_role_gets_what_it_grants() -> None:
    for methods in NEEDS.values():
        assert set(methods.values()) <= GRANTS["owner"]

    class Run:  # a stand-in named like the SDK's handle, to drive `check` alone
        def cancel(self) -> str:
            return "cancelled"

    for role in ROLES:
        if "runs.write" in GRANTS[role]:
            check(role, Run(), "cancel")
            continue
        with pytest.raises(ForbiddenError) as refused:
            check(role, Run(), "cancel")
        assert refused.value.details["reason"] == "missing-permission"
        assert "Run.cancel" in refused.value.message and "runs.write" in refused.value.message


def test_a_permitted_handle_keeps_its_class_and_checks_its_calls() -> None:
    from engine.sdk.run import Run

    run: Any = object.__new__(Run)
    viewed = guard(run, "viewer")
    assert isinstance(viewed, Run)
    with pytest.raises(ForbiddenError):
        viewed.cancel()
    assert guard([run], "viewer")[0].__class__ is Run
    assert guard("text", "viewer") == "text"
