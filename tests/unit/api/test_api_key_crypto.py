"""AES-256-GCM for stored provider keys: round trip, tampering, AAD binding, master keys."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from domain.errors import ConfigurationError
from engine.keys import (
    KeyDecryptionError,
    Keyring,
    associated_data,
    load_keyring,
    new_master_key,
)
from engine.settings import Settings

AAD = associated_data("alice", "openai")


def _ring(*kids: str) -> Keyring:
    return Keyring.parse(",".join(new_master_key(kid) for kid in kids))


def test_round_trip_and_token_shape() -> None:
    ring = _ring("k1")
    token = ring.encrypt("sk-secret-1234", AAD)
    version, kid, nonce, sealed = token.split(":")
    assert (version, kid) == ("v1", "k1")
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert "sk-secret" not in token
    assert ring.decrypt(token, AAD) == "sk-secret-1234"


def test_nonces_are_fresh() -> None:
    ring = _ring("k1")
    assert ring.encrypt("same", AAD) != ring.encrypt("same", AAD)


@pytest.mark.parametrize("part", [2, 3])
def test_tampering_is_detected(part: int) -> None:
    ring = _ring("k1")
    parts = ring.encrypt("sk-secret-1234", AAD).split(":")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=="))
    raw[0] ^= 1
    parts[part] = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(KeyDecryptionError):
        ring.decrypt(":".join(parts), AAD)


@pytest.mark.parametrize("owner, provider", [("bob", "openai"), ("alice", "anthropic")])
def test_ciphertext_is_bound_to_owner_and_provider(owner: str, provider: str) -> None:
    ring = _ring("k1")
    token = ring.encrypt("sk-secret-1234", AAD)
    with pytest.raises(KeyDecryptionError):
        ring.decrypt(token, associated_data(owner, provider))


def test_aad_is_unambiguous() -> None:
    assert associated_data("a:b", "c") != associated_data("a", "b:c")


def test_unknown_key_id_and_garbage_are_refused() -> None:
    token = _ring("k1").encrypt("sk-secret-1234", AAD)
    with pytest.raises(KeyDecryptionError, match="unknown master key"):
        _ring("k2").decrypt(token, AAD)
    with pytest.raises(KeyDecryptionError):
        _ring("k1").decrypt("not-a-token", AAD)


def test_rotation_first_key_encrypts_older_keys_still_decrypt() -> None:
    old_entry = new_master_key("old")
    old = Keyring.parse(old_entry)
    token = old.encrypt("sk-secret-1234", AAD)
    rotated = Keyring.parse(f"{new_master_key('new')},{old_entry}")
    assert rotated.current == "new"
    assert rotated.decrypt(token, AAD) == "sk-secret-1234"
    assert rotated.key_id_of(rotated.encrypt("x" * 8, AAD)) == "new"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "no key"),
        ("k1", "kid:base64"),
        ("k1:not base64!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        ("bad id:" + base64.b64encode(bytes(range(32))).decode(), "kid:base64"),
    ],
)
def test_malformed_master_keys_are_named_not_printed(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Keyring.parse(spec)


def test_duplicate_key_ids_are_refused() -> None:
    entry = new_master_key("k1")
    with pytest.raises(ConfigurationError, match="duplicate"):
        Keyring.parse(f"{entry},{entry}")


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_keyring(settings, spec="")
    path = tmp_path / "secret_keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(settings, spec="").keys == first.keys


def test_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    load_keyring(settings, spec="")
    (tmp_path / "secret_keys").chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keyring(settings, spec="")


def test_production_refuses_to_start_without_master_keys(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="production")
    with pytest.raises(ConfigurationError, match="AUTOFORGE_SECRET_KEYS"):
        load_keyring(settings, spec="")
    assert not (tmp_path / "secret_keys").exists()


def test_master_keys_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOFORGE_SECRET_KEYS", new_master_key("fromenv"))
    ring = load_keyring(Settings(data_dir=tmp_path, environment="production"))
    assert ring.current == "fromenv"
