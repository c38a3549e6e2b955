"""retention: a case's personal data purged after INTAKE_RETENTION_DAYS, and what is
still to delete at Twilio (SIDs only)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "twilio_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("twilio_deletions") as batch:
        batch.create_index(batch.f("ix_twilio_deletions_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("twilio_deletions")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("purged_at")
