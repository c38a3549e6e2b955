"""the children's data encrypted at rest: answers, state, bodies and links become Fernet tokens

Columns that held short strings or JSON become Text (a token is longer than its text), and
every stored value is encrypted with the first of INTAKE_DATA_KEYS, which `intake db upgrade`
passes in (see intake/infra/crypto.py). Downgrading decrypts them again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 17:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from intake.infra import crypto

# The columns this migration encrypts, as they stood then (later ones encrypt from birth).
COLUMNS_AT_0008 = (
    crypto.Column("callers", "state", json=True),
    crypto.Column("cases", "child_name"),
    crypto.Column("cases", "last_seen_when"),
    crypto.Column("cases", "last_seen_where"),
    crypto.Column("cases", "description"),
    crypto.Column("cases", "police_report"),
    crypto.Column("cases", "callback_phone"),
    crypto.Column("case_media", "url"),
    crypto.Column("messages", "body"),
    crypto.Column("messages", "reply_twiml"),
    crypto.Column("outbox", "body"),
    crypto.Column("outbox", "params", json=True),
)

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
# (table, column): (the type before, nullable)
RETYPED = {
    ("callers", "state"): (sa.JSON(), False),
    ("cases", "child_name"): (sa.String(200), True),
    ("cases", "callback_phone"): (sa.String(40), True),
    ("outbox", "params"): (sa.JSON(), False),
}


def upgrade() -> None:
    for table in sorted({table for table, _ in RETYPED}):
        with op.batch_alter_table(table) as batch:
            for (where, column), (old, nullable) in RETYPED.items():
                if where == table:
                    batch.alter_column(
                        column,
                        existing_type=old,
                        type_=sa.Text(),
                        existing_nullable=nullable,
                        postgresql_using=f"{column}::text",
                    )
    _rewrite(lambda ring, value: crypto.encrypt(ring, value))


def downgrade() -> None:
    _rewrite(lambda ring, value: crypto.decrypt(ring, value))
    for table in sorted({table for table, _ in RETYPED}):
        with op.batch_alter_table(table) as batch:
            for (where, column), (old, nullable) in RETYPED.items():
                if where == table:
                    cast = "json" if isinstance(old, sa.JSON) else f"varchar({old.length})"
                    batch.alter_column(
                        column,
                        existing_type=sa.Text(),
                        type_=old,
                        existing_nullable=nullable,
                        postgresql_using=f"{column}::{cast}",
                    )


def _rewrite(change) -> None:
    """Apply change(ring, value) to every stored value of every encrypted column, by batches."""
    bind = op.get_bind()
    ring = context.config.attributes.get("data_keys")
    tables: dict[str, list[str]] = {}
    for column in COLUMNS_AT_0008:
        tables.setdefault(column.table, []).append(column.name)
    for name, columns in tables.items():
        table = sa.table(
            name, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns)
        )
        last = 0
        while True:
            rows = bind.execute(
                sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
            ).all()
            if not rows:
                break
            if ring is None:
                raise RuntimeError(
                    "migration 0007 encrypts the stored data and needs the data keys: "
                    "run `intake db upgrade`, which reads INTAKE_DATA_KEYS"
                )
            for row in rows:
                values = {c: change(ring, getattr(row, c)) for c in columns if getattr(row, c)}
                if values:
                    bind.execute(table.update().where(table.c.id == row.id).values(**values))
            last = rows[-1].id
