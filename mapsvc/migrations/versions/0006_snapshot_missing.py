"""snapshot_missing: indicator snapshots keep whether an item was unanswered (データなし)

Before, a value nobody had answered and a rate over a zero population were both stored as
an empty value. Rows stored before this revision keep ``missing`` NULL; the reader
(:func:`mapsvc.planner.indicators.load_snapshot`) tells them apart by the numerator, which
an unanswered item never had.

Revision ID: 0006_snapshot_missing
Revises: 0005_sites
Create Date: 2026-12-02 15:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_snapshot_missing"
down_revision = "0005_sites"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicator_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missing", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indicator_snapshots", schema=None) as batch_op:
        batch_op.drop_column("missing")
