"""geodata: area-only population units (no point), providers.public and professional_visible

Revision ID: 0004_geodata
Revises: 0003_finder
Create Date: 2026-12-02 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_geodata"
down_revision = "0003_finder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("population", schema=None) as batch_op:
        batch_op.alter_column("lon", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("lat", existing_type=sa.Float(), nullable=True)
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "professional_visible", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("professional_visible")
        batch_op.drop_column("public")
    op.execute("DELETE FROM population WHERE lon IS NULL OR lat IS NULL")
    with op.batch_alter_table("population", schema=None) as batch_op:
        batch_op.alter_column("lon", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("lat", existing_type=sa.Float(), nullable=False)
