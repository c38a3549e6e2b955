"""outbox rows remember their first attempt and whether the last one may have reached Twilio

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 17:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("tried_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("unsure", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("unsure")
        batch.drop_column("tried_at")
