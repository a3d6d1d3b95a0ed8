"""Users' provider API keys at rest: AES-256-GCM under rotatable master keys.

A stored token reads ``v1:<kid>:<nonce>:<ciphertext>`` (base64url, no padding). The
associated data binds the ciphertext to its owner and provider, so a token copied to another
row does not decrypt. Master keys come from ``AUTOFORGE_SECRET_KEYS`` (``kid:base64key,…``,
the first encrypts, all decrypt); in development an unset variable means a key generated
once into the data directory (mode 0600); production refuses to start without it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.errors import ConfigurationError, NexusError, NotFoundError, ValidationError
from engine.logs import get_logger
from engine.settings import Settings
from engine.store_util import utc_now_iso

log = get_logger(__name__)

SECRET_KEYS_VARIABLE = "AUTOFORGE_SECRET_KEYS"
DEV_KEYS_FILE = "secret_keys"
TOKEN_VERSION = "v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_KEY_BYTES = 32
_NONCE_BYTES = 12


class KeyDecryptionError(NexusError):
    """A stored secret does not decrypt: wrong master key, tampering or a moved row."""

    code = "key-decryption-failed"
    status = 500


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


def associated_data(owner: str, provider: str) -> bytes:
    """The AAD binding a provider key to its owner and provider (unambiguous JSON)."""
    return json.dumps(["autoforge/provider-key", owner, provider]).encode()


@dataclass(frozen=True)
class Keyring:
    """Master keys by id; ``current`` encrypts, every key decrypts."""

    keys: dict[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ConfigurationError("the current master key id has no key")
        for kid, key in self.keys.items():
            if not _KID.match(kid) or len(key) != _KEY_BYTES:
                raise ConfigurationError(f"master key {kid!r} must be 32 bytes with a short id")

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Read ``kid1:base64key,kid2:base64key`` (the first is current).

        Raises:
            ConfigurationError: naming the malformed entry, never the key material.
        """
        keys: dict[str, bytes] = {}
        for number, entry in enumerate(filter(None, (e.strip() for e in spec.split(","))), 1):
            kid, sep, encoded = entry.partition(":")
            if not sep or not _KID.match(kid):
                raise ConfigurationError(f"{SECRET_KEYS_VARIABLE} entry {number}: use kid:base64")
            if kid in keys:
                raise ConfigurationError(f"{SECRET_KEYS_VARIABLE}: duplicate key id {kid!r}")
            try:
                key = _b64decode(encoded.strip())
            except (binascii.Error, ValueError):
                raise ConfigurationError(
                    f"{SECRET_KEYS_VARIABLE}: key {kid!r} is not base64"
                ) from None
            if len(key) != _KEY_BYTES:
                raise ConfigurationError(f"{SECRET_KEYS_VARIABLE}: key {kid!r} is not 32 bytes")
            keys[kid] = key
        if not keys:
            raise ConfigurationError(f"{SECRET_KEYS_VARIABLE} holds no key")
        return cls(keys=keys, current=next(iter(keys)))

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """Encrypt under the current key with a fresh 96-bit nonce."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(), aad)
        return ":".join((TOKEN_VERSION, self.current, _b64encode(nonce), _b64encode(sealed)))

    def decrypt(self, token: str, aad: bytes) -> str:
        """Open a token sealed by any key of this ring.

        Raises:
            KeyDecryptionError: unknown key id, malformed token or failed authentication.
        """
        version, kid, nonce, sealed = _split_token(token)
        key = self.keys.get(kid)
        if version != TOKEN_VERSION or key is None:
            raise KeyDecryptionError("stored secret uses an unknown master key", key_id=kid)
        try:
            return AESGCM(key).decrypt(_b64decode(nonce), _b64decode(sealed), aad).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise KeyDecryptionError("stored secret failed authentication", key_id=kid) from None

    def key_id_of(self, token: str) -> str:
        """The id of the master key that sealed ``token``."""
        return _split_token(token)[1]


def _split_token(token: str) -> tuple[str, str, str, str]:
    parts = token.split(":")
    if len(parts) != 4:
        raise KeyDecryptionError("stored secret is malformed")
    return parts[0], parts[1], parts[2], parts[3]


def new_master_key(kid: str | None = None) -> str:
    """A fresh ``kid:base64key`` entry for ``AUTOFORGE_SECRET_KEYS``."""
    kid = kid or f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(2)}"
    if not _KID.match(kid):
        raise ConfigurationError("a key id is 1-32 letters, digits, '-' or '_'")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()}"


class _KeySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOFORGE_", env_file=".env", extra="ignore")

    secret_keys: SecretStr | None = None


def load_keyring(settings: Settings, spec: str | None = None) -> Keyring:
    """The master keys in force for ``settings``.

    Args:
        settings: decides the environment and the data directory.
        spec: explicit ``kid:base64key,…``; read from ``AUTOFORGE_SECRET_KEYS`` when omitted.

    Raises:
        ConfigurationError: malformed keys, or none in production.
    """
    if spec is None:
        configured = _KeySettings().secret_keys
        spec = configured.get_secret_value() if configured else None
    if spec:
        return Keyring.parse(spec)
    if settings.environment == "production":
        raise ConfigurationError(
            f"{SECRET_KEYS_VARIABLE} is required in production "
            "(generate one with `autoforge keys new-master-key`)",
            variable=SECRET_KEYS_VARIABLE,
        )
    return Keyring.parse(_development_keys(settings.data_dir / DEV_KEYS_FILE))


def _development_keys(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_master_key("dev1") + "\n")
        try:
            # A hard link publishes the complete file atomically and never overwrites one
            # written by a concurrent process (another replica starting at the same time).
            os.link(scratch, path)
            log.warning("generated a development master key", path=str(path))
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} must be private to its owner: chmod 600 {path}")
    return path.read_text().strip()


metadata = MetaData()

# Schema lives in migration 0004.
provider_keys = Table(
    "provider_keys",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

PROVIDER_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
API_KEY_PATTERN = r"^[!-~]+$"  # printable ASCII, no spaces: what providers issue
_PROVIDER = re.compile(PROVIDER_PATTERN)
_API_KEY = re.compile(API_KEY_PATTERN)
MIN_KEY_LENGTH, MAX_KEY_LENGTH = 8, 4096


@dataclass(frozen=True)
class ProviderKeyInfo:
    """What may be shown about a stored key: never more than its last 4 characters."""

    provider: str
    last4: str
    created_at: str
    updated_at: str


class ProviderKeyStore:
    """Owner-scoped provider API keys, encrypted at rest; another owner's key is not found."""

    def __init__(self, db: Engine, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    def put(self, owner: str, provider: str, api_key: str) -> tuple[ProviderKeyInfo, bool]:
        """Store or replace a key; returns what may be shown and whether it was created."""
        _check_provider(provider)
        api_key = _checked_key(api_key)
        now = utc_now_iso()
        row = {
            "secret": self.keyring.encrypt(api_key, associated_data(owner, provider)),
            "key_id": self.keyring.current,
            "last4": api_key[-4:],
            "updated_at": now,
        }
        with self.db.begin() as conn:
            existing = conn.execute(
                select(provider_keys.c.created_at).where(*_row(owner, provider))
            ).first()
            statement = sqlite_insert(provider_keys).values(
                owner=owner, provider=provider, created_at=now, **row
            )
            upsert = statement.on_conflict_do_update(index_elements=["owner", "provider"], set_=row)
            conn.execute(upsert)
        created_at = existing[0] if existing else now
        return ProviderKeyInfo(provider, api_key[-4:], created_at, now), existing is None

    def get(self, owner: str, provider: str) -> ProviderKeyInfo:
        """What may be shown about one key.

        Raises:
            NotFoundError: no such key for this owner.
        """
        with self.db.connect() as conn:
            found = conn.execute(_shown().where(*_row(owner, provider))).first()
        if found is None:
            raise NotFoundError("no key stored for this provider", provider=provider)
        return _info(found)

    def list(
        self, owner: str, *, after: str | None = None, limit: int = 50
    ) -> list[ProviderKeyInfo]:
        """Keys of ``owner`` ordered by provider, those after ``after`` only."""
        query = _shown().where(provider_keys.c.owner == owner)
        if after is not None:
            query = query.where(provider_keys.c.provider > after)
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(provider_keys.c.provider).limit(limit)).all()
        return [_info(row) for row in rows]

    def delete(self, owner: str, provider: str) -> None:
        """Forget a key.

        Raises:
            NotFoundError: no such key for this owner.
        """
        with self.db.begin() as conn:
            if conn.execute(delete(provider_keys).where(*_row(owner, provider))).rowcount == 0:
                raise NotFoundError("no key stored for this provider", provider=provider)

    def reveal(self, owner: str, provider: str) -> str:
        """The plaintext key, for the engine to call the provider; never for an HTTP reply."""
        with self.db.connect() as conn:
            secret = conn.execute(
                select(provider_keys.c.secret).where(*_row(owner, provider))
            ).scalar()
        if secret is None:
            raise NotFoundError("no key stored for this provider", provider=provider)
        return self.keyring.decrypt(secret, associated_data(owner, provider))

    def reveal_all(self, owner: str) -> dict[str, str]:
        """Every plaintext key of ``owner`` by provider, for the engine's calls only."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(provider_keys.c.provider, provider_keys.c.secret).where(
                    provider_keys.c.owner == owner
                )
            ).all()
        return {
            provider: self.keyring.decrypt(secret, associated_data(owner, provider))
            for provider, secret in rows
        }

    def reencrypt_all(self) -> int:
        """Re-seal every key not under the current master key; returns how many moved."""
        moved = 0
        with self.db.begin() as conn:
            stale = conn.execute(
                select(
                    provider_keys.c.owner, provider_keys.c.provider, provider_keys.c.secret
                ).where(provider_keys.c.key_id != self.keyring.current)
            ).all()
            for owner, provider, secret in stale:
                aad = associated_data(owner, provider)
                fresh = self.keyring.encrypt(self.keyring.decrypt(secret, aad), aad)
                conn.execute(
                    update(provider_keys)
                    .where(*_row(owner, provider), provider_keys.c.secret == secret)
                    .values(secret=fresh, key_id=self.keyring.current)
                )
                moved += 1
        if moved:
            log.info("provider keys re-encrypted", count=moved, key_id=self.keyring.current)
        return moved


def _row(owner: str, provider: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return provider_keys.c.owner == owner, provider_keys.c.provider == provider


def _shown() -> Select[tuple[str, str, str, str]]:
    c = provider_keys.c
    return select(c.provider, c.last4, c.created_at, c.updated_at)


def _info(row: Row[tuple[str, str, str, str]]) -> ProviderKeyInfo:
    return ProviderKeyInfo(row.provider, row.last4, row.created_at, row.updated_at)


def _check_provider(provider: str) -> None:
    if not _PROVIDER.match(provider):
        raise ValidationError(
            "a provider name is 1-64 lowercase letters, digits, '.', '_' or '-'",
            provider=provider[:64],
        )


def _checked_key(api_key: str) -> str:
    api_key = api_key.strip()
    if not MIN_KEY_LENGTH <= len(api_key) <= MAX_KEY_LENGTH:
        raise ValidationError(f"an API key is {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} characters long")
    if not _API_KEY.match(api_key):
        raise ValidationError("an API key is printable ASCII without spaces")
    return api_key
