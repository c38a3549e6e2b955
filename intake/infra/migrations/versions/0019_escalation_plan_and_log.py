"""escalation as data: where an alert is in its plan, and the log of what the line did
(written, for alerts paged before it, from their pages: an old case keeps its history)

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
    for statement in BACKFILL:
        op.execute(statement)


# An alert paged before this revision keeps its history on the case page: the log is
# written from what was stored then (the alert, its pages and their outbox rows). Each
# statement is one kind of step, in the order the line took them; the timeline sorts by
# time, then by id. A call's "no answer" is dated when the call was placed: the time of
# Twilio's answer was not kept. The words are the stored values as at this revision.
_LOG = "INSERT INTO escalation_log (case_id, alert_id, person_id, action, detail, created_at) "
_PAGES = (
    " FROM alert_pages p JOIN alerts a ON a.id = p.alert_id"
    " LEFT JOIN outbox o ON o.id = p.outbox_id"
)
BACKFILL = (
    _LOG + "SELECT a.case_id, a.id, NULL, 'started', a.reason, a.created_at"
    " FROM alerts a ORDER BY a.created_at, a.id",
    _LOG + "SELECT a.case_id, a.id, p.person_id,"
    " CASE WHEN p.person_id IS NULL THEN 'fallback'"
    " WHEN p.channel IN ('voice', 'call') THEN 'called' ELSE 'texted' END,"
    " CASE WHEN p.person_id IS NULL AND o.template = 'oncall_alert_empty'"
    " THEN 'nobody on call' ELSE '' END,"
    " p.created_at" + _PAGES + " ORDER BY p.created_at, p.id",
    _LOG + "SELECT a.case_id, a.id, p.person_id,"
    " CASE o.delivery_status WHEN 'no-answer' THEN 'no_answer' WHEN 'busy' THEN 'busy'"
    " ELSE 'not_delivered' END, '', p.created_at" + _PAGES + " WHERE p.person_id IS NOT NULL"
    " AND o.delivery_status IN ('no-answer', 'busy', 'failed', 'undelivered')"
    " ORDER BY p.created_at, p.id",
    _LOG + "SELECT a.case_id, a.id, a.acked_by_id, 'took', '', a.acked_at FROM alerts a"
    " WHERE a.acked_at IS NOT NULL AND a.acked_by_id IS NOT NULL ORDER BY a.acked_at, a.id",
)


def downgrade() -> None:
    op.drop_index("ix_escalation_log_case_id", table_name="escalation_log")
    op.drop_table("escalation_log")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("plan_step")
