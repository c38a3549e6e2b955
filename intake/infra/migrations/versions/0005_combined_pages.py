"""pages combined into one text: many pages may share an outbox row; recent pages by number

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0003 left the unique constraint unnamed: PostgreSQL named it, SQLite did not
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_name() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "alert_pages_outbox_id_key"
    return "uq_alert_pages_outbox_id"


def upgrade() -> None:
    with op.batch_alter_table("alert_pages", naming_convention=NAMING) as batch:
        batch.drop_constraint(_unique_name(), type_="unique")
        batch.create_index("ix_alert_pages_outbox_id", ["outbox_id"], unique=False)
        batch.create_index("ix_alert_pages_to_created", ["to_phone", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_pages", naming_convention=NAMING) as batch:
        batch.drop_index("ix_alert_pages_to_created")
        batch.drop_index("ix_alert_pages_outbox_id")
        batch.create_unique_constraint(_unique_name(), ["outbox_id"])
