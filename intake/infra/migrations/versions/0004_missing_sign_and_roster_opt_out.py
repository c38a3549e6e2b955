"""a case's sign that a child is missing; a roster member's opt-out

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("reported_missing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("oncall_people") as batch:
        batch.add_column(sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oncall_people") as batch:
        batch.drop_column("opted_out_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reported_missing")
