"""Alembic environment: the URL comes from the caller (intake db upgrade), never a file."""

from alembic import context

from intake.core.models import Base
from intake.infra.db import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Batch mode rebuilds a table (copy, drop, rename): with rows that other tables
            # point at, SQLite refuses the drop while it enforces foreign keys. The pragma
            # works only outside a transaction, so it goes straight to the driver.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run intake db upgrade")
run_migrations_online()
