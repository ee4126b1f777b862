"""freeze flag on stock rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stock") as batch_op:
        batch_op.add_column(sa.Column("frozen", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("frozen_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock") as batch_op:
        batch_op.drop_column("frozen_reason")
        batch_op.drop_column("frozen")
