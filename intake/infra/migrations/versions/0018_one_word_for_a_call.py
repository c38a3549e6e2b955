"""one word for a call: the outbox, pages and roster store "voice" (as cases do), not "call"

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-07 15:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the stored words as they were at this revision (not intake.domain.enums: it may change later)
COLUMNS = (("outbox", "channel"), ("alert_pages", "channel"), ("oncall_people", "reach_by"))


def upgrade() -> None:
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'voice' WHERE {column} = 'call'")


def downgrade() -> None:
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'call' WHERE {column} = 'voice'")
