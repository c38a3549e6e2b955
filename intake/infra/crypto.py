"""The children's data encrypted at rest: Fernet tokens in the columns, keys from settings.

INTAKE_DATA_KEYS holds comma-separated Fernet keys: the first encrypts, every one decrypts
(a MultiFernet), so a new key goes first and an old one stays until `intake keys rotate`
has re-encrypted every value. The key ring lives on the engine's dialect, set once when
the line's Database is built: an engine without it refuses to read or write these
columns rather than store a child's name in clear.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text, TypeDecorator

KEY_FILE = "data_key"
TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80, then the time)
# said with the Python running the line: it has cryptography (a bare `python` may not)
MAKE_A_KEY = (
    f"{shlex.quote(sys.executable)} -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class DataKeyError(RuntimeError):
    """The data keys are missing or cannot decrypt a stored value (never says the value)."""


@dataclass(frozen=True)
class Column:
    """One encrypted column: where it is and whether it holds JSON."""

    table: str
    name: str
    json: bool = False


# Every encrypted column, for the migration and `intake keys rotate` (the models say the same).
COLUMNS: tuple[Column, ...] = (
    Column("callers", "state", json=True),
    Column("cases", "child_name"),
    Column("cases", "last_seen_when"),
    Column("cases", "last_seen_where"),
    Column("cases", "description"),
    Column("cases", "police_report"),
    Column("cases", "callback_phone"),
    Column("case_media", "url"),
    Column("messages", "body"),
    Column("messages", "reply_twiml"),
    Column("messages", "meta", json=True),
    Column("outbox", "body"),
    Column("outbox", "params", json=True),
    Column("case_notes", "body"),
    Column("staff_accounts", "totp_secret"),
)


def key_ring(keys: Sequence[str]) -> MultiFernet:
    """The keys as one MultiFernet: the first encrypts, all decrypt."""
    if not keys:
        raise DataKeyError("no data key: set INTAKE_DATA_KEYS")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def is_key(text: str) -> bool:
    try:
        Fernet(text.encode())
    except (ValueError, TypeError):
        return False
    return True


def local_key(folder: Path) -> str:
    """A Fernet key generated once into instance/ (0600), for a line without Twilio."""
    return secret_once(folder / KEY_FILE, lambda: Fernet.generate_key().decode())


def secret_once(path: Path, make: Callable[[], str]) -> str:
    """The secret in path, made (0600) by whichever process comes first.

    The value is written whole to a file of this process's own, then linked into place
    (atomic, and it fails if the name exists): a process starting at the same moment
    (two gunicorn workers, `make run` beside `intake simulate`) reads the winner's whole
    value, never an empty file or a second key."""
    make_private_dir(path.parent)
    if path.exists():
        return path.read_text().strip()
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(make())
        os.link(part, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(part)
    return path.read_text().strip()


def make_private_dir(folder: Path) -> None:
    """Create a folder only its owner can enter (an existing folder is left as it is)."""
    if folder.exists():
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)  # mkdir's mode passes through the umask


def encrypt(ring: MultiFernet, text: str) -> str:
    return ring.encrypt(text.encode()).decode()


def decrypt(ring: MultiFernet, token: str) -> str:
    try:
        return ring.decrypt(token.encode()).decode()
    except InvalidToken:
        raise DataKeyError(
            "a stored value cannot be decrypted with INTAKE_DATA_KEYS: "
            "is the key that encrypted it missing from the list?"
        ) from None


def _ring(dialect) -> MultiFernet:
    ring = getattr(dialect, "intake_data_keys", None)
    if ring is None:
        raise DataKeyError("this database engine has no data keys (see intake.infra.crypto)")
    return ring


def attach(engine, ring: MultiFernet) -> None:
    """Give an engine the key ring its encrypted columns use."""
    engine.dialect.intake_data_keys = ring


class _NotByValue(TypeDecorator.Comparator):
    """Only IS NULL / IS NOT NULL: a token differs every time, so `col == x` never matches.

    A query by value would find nothing, silently; it fails loudly instead.
    """

    ALLOWED = {"is_", "is_not", "isnot"}

    def operate(self, op, *other, **kwargs):
        if getattr(op, "__name__", "") not in self.ALLOWED:
            raise TypeError("an encrypted column cannot be compared or searched by value")
        return super().operate(op, *other, **kwargs)


class Encrypted(TypeDecorator):
    """Text stored as a Fernet token; read back as the text."""

    impl = Text
    cache_ok = True
    comparator_factory = _NotByValue

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        return encrypt(_ring(dialect), value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        return decrypt(_ring(dialect), value)


class EncryptedJSON(TypeDecorator):
    """A JSON value stored as a Fernet token of its text."""

    impl = Text
    cache_ok = True
    comparator_factory = _NotByValue

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return encrypt(_ring(dialect), json.dumps(value, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(_ring(dialect), value))


def check(connection, ring: MultiFernet, columns: Iterable[Column] = COLUMNS) -> None:
    """Decrypt one stored value of each column: a wrong key stops the line at start."""
    from sqlalchemy import text

    for column in columns:
        query = text(
            f"SELECT {column.name} FROM {column.table} "
            f"WHERE {column.name} IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
        value = connection.execute(query).scalar()
        if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
            try:
                ring.decrypt(value.encode())
            except InvalidToken:
                raise DataKeyError(
                    f"INTAKE_DATA_KEYS cannot decrypt the data already stored "
                    f"({column.table}.{column.name}): the key that encrypted it is not "
                    "in the list. Put it back (new keys go first, old ones after)."
                ) from None


def rotate(engine, ring: MultiFernet, batch: int = 500, echo=None) -> dict[str, int]:
    """Re-encrypt every stored value with the first key, a batch per transaction.

    Each write only replaces the token it read, so a row the line changed meanwhile keeps
    its newer value (already under the first key). Returns values rotated per table.
    """
    from sqlalchemy import and_, column, select, table

    counts: dict[str, int] = {}
    tables: dict[str, list[str]] = {}
    for item in COLUMNS:
        tables.setdefault(item.table, []).append(item.name)
    for name, names in tables.items():
        rows_table = table(name, column("id"), *(column(c, Text) for c in names))
        counts[name] = 0
        last = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(rows_table)
                    .where(rows_table.c.id > last)
                    .order_by(rows_table.c.id)
                    .limit(batch)
                ).all()
                for row in rows:
                    for c in names:
                        old = getattr(row, c)
                        if old is None:
                            continue
                        try:
                            new = ring.rotate(old.encode()).decode()
                        except InvalidToken:
                            raise DataKeyError(
                                f"a value in {name}.{c} cannot be decrypted with "
                                "INTAKE_DATA_KEYS: keep every old key in the list until "
                                "rotation is done"
                            ) from None
                        done = conn.execute(
                            rows_table.update()
                            .where(and_(rows_table.c.id == row.id, rows_table.c[c] == old))
                            .values({c: new})
                        )
                        counts[name] += done.rowcount
            if not rows:
                break
            last = rows[-1].id
            if echo is not None:
                echo(f"{name}: {counts[name]} values re-encrypted so far")
    return counts
