"""Provider keys in the database: owner-scoped, encrypted, last 4 characters only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from domain.errors import NotFoundError, ValidationError
from engine.db import create_db_engine
from engine.keys import Keyring, ProviderKeyStore, new_master_key, provider_keys

SECRET = "sk-proj-0123456789abcdef"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite+libsql:///{tmp_path / 'keys.db'}")
    # The table alone: these tests do not depend on the other contexts' migrations.
    provider_keys.create(engine, checkfirst=True)
    yield engine
    engine.dispose()


@pytest.fixture
def store(db: Engine) -> ProviderKeyStore:
    return ProviderKeyStore(db, Keyring.parse(new_master_key("k1")))


def test_put_get_shows_only_the_last_four(store: ProviderKeyStore) -> None:
    info, created = store.put("alice", "openai", f"  {SECRET}\n")
    assert created and info.last4 == "cdef"
    assert store.get("alice", "openai") == info
    assert store.reveal("alice", "openai") == SECRET


def test_stored_row_holds_no_plaintext(store: ProviderKeyStore, db: Engine) -> None:
    store.put("alice", "openai", SECRET)
    with db.connect() as conn:
        row = conn.execute(select(provider_keys)).one()
    assert SECRET not in str(tuple(row)) and row.secret.startswith("v1:k1:")


def test_replace_keeps_created_at(store: ProviderKeyStore) -> None:
    first, _ = store.put("alice", "openai", SECRET)
    second, created = store.put("alice", "openai", "sk-other-key-9999")
    assert not created and second.created_at == first.created_at and second.last4 == "9999"


def test_owners_are_isolated(store: ProviderKeyStore) -> None:
    store.put("alice", "openai", SECRET)
    with pytest.raises(NotFoundError):
        store.get("bob", "openai")
    with pytest.raises(NotFoundError):
        store.reveal("bob", "openai")
    with pytest.raises(NotFoundError):
        store.delete("bob", "openai")
    assert store.list("bob") == []
    assert [info.provider for info in store.list("alice")] == ["openai"]


def test_list_pages_by_provider(store: ProviderKeyStore) -> None:
    for provider in ("openai", "anthropic", "mistral"):
        store.put("alice", provider, SECRET)
    assert [i.provider for i in store.list("alice", limit=2)] == ["anthropic", "mistral"]
    assert [i.provider for i in store.list("alice", after="mistral")] == ["openai"]


def test_delete(store: ProviderKeyStore) -> None:
    store.put("alice", "openai", SECRET)
    store.delete("alice", "openai")
    with pytest.raises(NotFoundError):
        store.get("alice", "openai")


@pytest.mark.parametrize("provider", ["OpenAI", "", "a" * 65, "../x", "open ai"])
def test_provider_names_are_checked(store: ProviderKeyStore, provider: str) -> None:
    with pytest.raises(ValidationError):
        store.put("alice", provider, SECRET)


@pytest.mark.parametrize("key", ["short", "sk with space", "sk-\x00-nul-byte"])
def test_key_values_are_checked(store: ProviderKeyStore, key: str) -> None:
    with pytest.raises(ValidationError):
        store.put("alice", "openai", key)


def test_reencrypt_moves_every_key_to_the_current_master_key(db: Engine) -> None:
    old_entry = new_master_key("old")
    ProviderKeyStore(db, Keyring.parse(old_entry)).put("alice", "openai", SECRET)
    ProviderKeyStore(db, Keyring.parse(old_entry)).put("bob", "openai", "sk-bob-key-0000")
    rotated = ProviderKeyStore(db, Keyring.parse(f"{new_master_key('new')},{old_entry}"))
    assert rotated.reencrypt_all() == 2
    assert rotated.reencrypt_all() == 0
    only_new = ProviderKeyStore(
        db, Keyring(keys={"new": rotated.keyring.keys["new"]}, current="new")
    )
    assert only_new.reveal("alice", "openai") == SECRET
    assert only_new.reveal("bob", "openai") == "sk-bob-key-0000"
