"""a case may have several children; police may refuse or delay a report

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-07 04:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        # [{name, age_months, found}], encrypted like the other answers; NULL: one child
        batch.add_column(sa.Column("children", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("police_refused", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("police_refused")
        batch.drop_column("children")
