"""escalation as data: where an alert is in its plan, and the log of what the line did

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("plan_step", sa.Integer(), nullable=False, server_default="0"))
    # an alert already under way has paged its first person: under the default plan it is
    # at the step that moves on through the chain
    op.execute("UPDATE alerts SET plan_step = 1 WHERE next_check_at IS NOT NULL")
    op.create_table(
        "escalation_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_escalation_log_case"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_escalation_log_alert"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["oncall_people.id"], name="fk_escalation_log_person"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_escalation_log_case_id", "escalation_log", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_escalation_log_case_id", table_name="escalation_log")
    op.drop_table("escalation_log")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("plan_step")
