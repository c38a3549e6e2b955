"""The children's data at rest: private files, Fernet tokens in the columns, keys that rotate.

Every check of what is stored reads the raw database through a separate engine with plain
SQL, as someone holding a copy of the file (or a dump) would.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import selectinload

from intake.app import create_app
from intake.cli.main import main
from intake.core.models import Caller, Case, Message, Outbound
from intake.infra import crypto
from intake.infra.config import ConfigError, Settings
from intake.infra.db import Database
from intake.infra.migrate import upgrade
from tests.conftest import Phone, make_settings
from tests.test_sms_webhook import PHOTO_URL, intake

SECRETS = [
    "Mia Lopez",
    "Elm Park",
    "red coat",
    "brown ponytail",
    "24-1187",
    "my daughter is missing",
    "about 2 hours ago",
    "MM1/Media",
]
CHILD = "Mia Lopez"


def raw_text(db_url: str) -> str:
    """Every value of every table, as plain SQL returns it."""
    engine = create_engine(db_url)
    found = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                found.extend(str(value) for value in row)
    engine.dispose()
    return "\n".join(found)


def raw_tokens(db_url: str) -> list[str]:
    """Every stored value of every encrypted column."""
    engine = create_engine(db_url)
    tokens = []
    with engine.connect() as conn:
        for column in crypto.COLUMNS:
            query = text(
                f"SELECT {column.name} FROM {column.table} WHERE {column.name} IS NOT NULL"
            )
            tokens.extend(conn.execute(query).scalars())
    engine.dispose()
    return tokens


def read_case(app) -> Case:
    with app.extensions["intake"].db.sessions() as s:
        query = select(Case).options(
            selectinload(Case.media), selectinload(Case.messages), selectinload(Case.caller)
        )
        return s.scalars(query).one()


def test_a_fresh_instance_folder_and_database_are_private(tmp_path):
    previous = os.umask(0o022)  # the usual umask: files 0644, folders 0755 unless we say
    try:
        instance = tmp_path / "new" / "instance"
        settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(instance)})
        upgrade(settings.database_url, keys=settings.data_key_ring())
        db = Database(settings.database_url, settings.data_key_ring())
        with db.transaction() as s:
            s.add(Caller(phone="+12125551234", state={"child_name": CHILD}))
            s.flush()
            database = instance / "intake.db"
            wal = instance / "intake.db-wal"
            assert wal.exists()  # still open: SQLite keeps its write-ahead log beside it
            assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
        db.dispose()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(instance).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    for name in ("secret_key", "twilio_auth_token", crypto.KEY_FILE):
        assert stat.S_IMODE(os.stat(instance / name).st_mode) == 0o600


def test_a_whole_intake_leaves_no_child_data_in_clear(app, phone, db_url):
    intake(phone)
    phone.text("She might be at Elm Park again")
    stored = raw_text(db_url)
    for secret in SECRETS:
        assert secret not in stored
    assert "+12125551234" in stored  # phone numbers stay clear: looked up by value
    tokens = raw_tokens(db_url)
    assert len(tokens) > 20 and all(t.startswith(crypto.TOKEN_PREFIX) for t in tokens)

    case = read_case(app)  # and the line reads everything back
    assert case.child_name == CHILD
    assert case.last_seen_where == "Elm Park, Springfield"
    assert case.description == "red coat, 4 feet tall, brown ponytail"
    assert [m.url for m in case.media] == [PHOTO_URL]
    with app.extensions["intake"].db.sessions() as s:
        bodies = s.scalars(select(Message.body)).all()
        assert "my daughter is missing" in bodies
        assert all(isinstance(row.params, dict) for row in s.scalars(select(Outbound)))


def test_a_wrong_key_stops_the_line_at_start(app, phone, db_url, tmp_path):
    intake(phone)
    wrong = Fernet.generate_key().decode()
    with pytest.raises(ConfigError) as error:
        create_app(make_settings(db_url, tmp_path, data_keys=(wrong,)))
    assert "INTAKE_DATA_KEYS cannot decrypt" in str(error.value)
    assert wrong not in str(error.value) and CHILD not in str(error.value)


def test_an_engine_without_keys_refuses_the_encrypted_columns(db_url):
    db = Database(db_url)
    with pytest.raises(Exception, match="no data keys"), db.transaction() as s:
        s.add(Caller(phone="+12125551234", state={"child_name": CHILD}))
    db.dispose()
    assert CHILD not in raw_text(db_url)


def test_keys_rotate_moves_every_value_to_the_first_key(db_url, tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = make_settings(db_url, tmp_path, data_keys=(old,))
    app = create_app(settings)
    intake(Phone(app, settings))
    app.extensions["intake"].db.dispose()
    before = raw_tokens(db_url)

    env = {
        "DATABASE_URL": db_url,
        "INTAKE_INSTANCE_DIR": str(tmp_path / "cli"),
        "INTAKE_DATA_KEYS": f"{new},{old}",
        "TWILIO_ACCOUNT_SID": "",
    }
    result = CliRunner().invoke(main, ["keys", "rotate", "--batch", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert f"done: {len(before)} values now use the first key" in result.output
    assert "messages:" in result.output and CHILD not in result.output

    after = raw_tokens(db_url)
    assert len(after) == len(before) and not set(after) & set(before)
    only_new = Fernet(new.encode())
    for token in after:
        only_new.decrypt(token.encode())  # raises InvalidToken if any needs the old key
    with pytest.raises(ConfigError):
        create_app(make_settings(db_url, tmp_path, data_keys=(old,)))
    rotated = create_app(make_settings(db_url, tmp_path, data_keys=(new,)))
    assert read_case(rotated).child_name == CHILD
    rotated.extensions["intake"].db.dispose()


def test_migration_0008_encrypts_rows_stored_in_clear_and_back(empty_db_url):
    ring = crypto.key_ring([Fernet.generate_key().decode()])
    upgrade(empty_db_url, "0007")
    engine = create_engine(empty_db_url)
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO callers (id, phone, lang, state, created_at, updated_at) "
                "VALUES (1, '+12125551234', 'en', :state, :now, :now)"
            ),
            {"state": '{"child_name": "Mia Lopez"}', "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO cases (id, ref, caller_id, status, lang, channel, child_name, "
                "description, callback_phone, reported_missing, created_at) VALUES (1, 'K7Q2', "
                "1, 'open', 'en', 'sms', 'Mia Lopez', 'red coat', '+12125551234', false, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO messages (caller_id, case_id, direction, body, num_media, "
                "created_at) VALUES (1, 1, 'in', 'my daughter is missing', 0, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (kind, channel, to_phone, params, body, lang, send_at, "
                "status, attempts, created_at) VALUES ('relay', 'sms', '+12125550100', "
                ":params, 'Mia Lopez seen at Elm Park', 'en', :now, 'pending', 0, :now)"
            ),
            {"params": '{"text": "Elm Park"}', "now": now},
        )
    engine.dispose()

    upgrade(empty_db_url, keys=ring)
    stored = raw_text(empty_db_url)
    assert "Mia Lopez" not in stored and "Elm Park" not in stored and "red coat" not in stored
    db = Database(empty_db_url, ring)
    with db.sessions() as s:
        assert s.get(Caller, 1).state == {"child_name": "Mia Lopez"}
        assert s.get(Case, 1).child_name == "Mia Lopez"
        assert s.scalars(select(Message.body)).one() == "my daughter is missing"
        row = s.scalars(select(Outbound)).one()
        assert (row.params, row.body) == ({"text": "Elm Park"}, "Mia Lopez seen at Elm Park")
    db.dispose()

    from alembic import command

    from intake.infra.migrate import alembic_config

    config = alembic_config(empty_db_url)
    config.attributes["data_keys"] = ring
    command.downgrade(config, "0007")
    assert "Mia Lopez" in raw_text(empty_db_url)


def test_migration_0008_without_keys_refuses_to_leave_rows_in_clear(empty_db_url):
    upgrade(empty_db_url, "0007")
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO callers (id, phone, lang, state, created_at, updated_at) "
                "VALUES (1, '+12125551234', 'en', '{}', :now, :now)"
            ),
            {"now": datetime(2026, 11, 29, 3, 0, tzinfo=UTC)},
        )
    engine.dispose()
    with pytest.raises(RuntimeError, match="needs the data keys"):
        upgrade(empty_db_url)


def test_an_encrypted_column_cannot_be_searched_by_value():
    with pytest.raises(TypeError, match="cannot be compared or searched by value"):
        select(Message).where(Message.body == "hello")
    with pytest.raises(TypeError):
        select(Case).where(Case.child_name.like("Mia%"))
    select(Case).where(Case.child_name.is_not(None))  # whether there is one: allowed
