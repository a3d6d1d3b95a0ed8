"""Provider API keys that users store, encrypted at rest (see `engine.keys`).

``secret`` holds ``v1:<kid>:<nonce>:<ciphertext>``; ``key_id`` repeats the master key id so a
rotation finds the rows still sealed by an old key without decrypting anything; ``last4`` is
all that is ever shown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_keys",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("owner", "provider", name="pk_provider_keys"),
    )
    op.create_index("ix_provider_keys_key_id", "provider_keys", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_keys_key_id", table_name="provider_keys")
    op.drop_table("provider_keys")
