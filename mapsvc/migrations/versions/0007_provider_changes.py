"""provider changes: which transaction last wrote each provider (incremental index builds)

Revision ID: 0007_provider_changes
Revises: 0006_snapshot_missing
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_provider_changes"
down_revision = "0006_snapshot_missing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.add_column(sa.Column("change_token", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_provider_change_token", ["change_token"])
    op.create_table(
        "provider_changes",
        sa.Column("token", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.create_index("ix_provider_changes_generation", "provider_changes", ["generation"])


def downgrade() -> None:
    op.drop_index("ix_provider_changes_generation", table_name="provider_changes")
    op.drop_table("provider_changes")
    with op.batch_alter_table("providers") as batch_op:
        batch_op.drop_index("ix_provider_change_token")
        batch_op.drop_column("change_token")
