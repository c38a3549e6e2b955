"""Signing in: a password then a code, each try counted first and slowed per address and source.

Passwords are hashed with scrypt (werkzeug.security). Tries are counted per address and
source (SignInThrottle): a source is a network (an IPv4 address, an IPv6 /64) or a device
that signed in to this account before (its signed cookie, checked by intake/web/auth.py).
After FREE_FAILURES tries in a row from one source, the next waits, twice as long each
time (up to MAX_WAIT). Every try is counted before its password or code is checked, in the
transaction that checks the wait, so tries sent in parallel are each counted and at most
one is checked per wait. An address with no account is counted and answered the same way.
Someone guessing from elsewhere slows only their own source: a worker's phone that signed
in before still gets in with the right password (and code). Every failure is logged with
the account's id, never the address or the password.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from intake.core.models import SignInThrottle, StaffAccount, StaffSession
from intake.infra.db import Database
from intake.infra.logs import event as log_event
from intake.staff.accounts import HASH_METHOD, AccountError, by_email, normalise_email
from intake.staff.sessions import active
from intake.staff.twostep import right_totp, use_recovery

FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=2)
MAX_WAIT = timedelta(minutes=15)
FORGET_TRIES = timedelta(days=1)  # a source's tries, a day after the last was checked
FORGET_SESSIONS = timedelta(days=30)  # an ended session's row (the staff page's history)


# checked against when the address is unknown, so a wrong address takes as long as a wrong
# password and the answer does not tell which accounts exist
_NOBODY = generate_password_hash("nobody has this password", method=HASH_METHOD)


@dataclass(frozen=True)
class Attempt:
    """Who tries to sign in, from where: the address typed, the network it came from, and
    the device cookie's id with the accounts it signed in to before (if it has one)."""

    email: str
    network: str
    device: str | None = None
    device_accounts: frozenset[int] = field(default_factory=frozenset)

    def source(self, account: StaffAccount | None) -> str:
        """The device, for an account it signed in to before; else the network."""
        if self.device and account is not None and account.id in self.device_accounts:
            return f"device:{self.device}"[:80]
        return f"net:{self.network}"[:80]


@dataclass(frozen=True)
class SignIn:
    """What came of a try: the account, or why not (wrong | wait | code: the password was
    right, the second step is next) and how long to wait; `tried` is the account the try
    was for, when the address is known."""

    account: StaffAccount | None
    problem: str | None = None
    wait: timedelta | None = None
    tried: StaffAccount | None = None


def check_password(db: Database, attempt: Attempt, password: str, now: datetime) -> SignIn:
    """Check an address and password. The try is counted (and its wait checked) in a
    short transaction of its own; the slow hash is checked after it, holding no lock."""
    with db.transaction() as session:
        account = _signing_in(session, attempt.email)
        wait = _claim(session, attempt, account, now)
    if wait is not None:
        return _slowed(account, wait)
    right = check_password_hash(account.password_hash if account else _NOBODY, password)
    if not right or account is None:
        return _failed(account, "wrong")
    if account.has_two_step:
        return SignIn(None, "code", tried=account)  # counted until the code is right too
    return SignIn(account)


def check_code(db: Database, attempt: Attempt, account_id: int, code: str, now: datetime) -> SignIn:
    """Check the second step: a code from the app, or an unused recovery code (used up
    here). Counted and slowed like a password."""
    with db.transaction() as session:
        account = active(session, account_id)
        if account is None or not account.has_two_step:
            return SignIn(None, "wrong")
        wait = _claim(session, replace(attempt, email=account.email), account, now)
        if wait is not None:
            return _slowed(account, wait)
        if not (
            right_totp(session, account, code, now) or use_recovery(session, account, code, now)
        ):
            return _failed(account, "wrong")
    return SignIn(account)


def signed_in(session: Session, attempt: Attempt, account: StaffAccount, now: datetime) -> None:
    """A whole sign-in succeeded: this source's tries and the account's count start over."""
    _forget_tries(session, address_key(account.email), attempt.source(account))
    # (the address typed hashes as the stored one: both are trimmed and lower-case)
    session.execute(
        update(StaffAccount)
        .where(StaffAccount.id == account.id)
        .values(failed_signins=0, last_failed_at=None)
    )
    _forget_old(session, now)
    log_event("staff.signed_in", account=account.id)


def _forget_old(session: Session, now: datetime) -> None:
    """Tries long past any wait, and sessions over for a month, are deleted (each sign-in
    does it, so neither table grows without end)."""
    session.execute(
        delete(SignInThrottle).where(SignInThrottle.last_checked_at < now - FORGET_TRIES)
    )
    ended = StaffSession.ended_at < now - FORGET_SESSIONS
    session.execute(
        delete(StaffSession).where(ended | (StaffSession.expires_at < now - FORGET_SESSIONS))
    )


def _signing_in(session: Session, email: str) -> StaffAccount | None:
    """The active account for a typed address, or None (no such address: a stranger)."""
    try:
        account = by_email(session, normalise_email(email))
    except AccountError:
        return None
    return account if account is not None and account.active else None


def address_key(email: str) -> str:
    """What the throttle keeps of an address: a hash of it as typed, trimmed, lower-case."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _claim(
    session: Session, attempt: Attempt, account: StaffAccount | None, now: datetime
) -> timedelta | None:
    """Count this try, and say how long it must still wait (None: check it now).

    The throttle row is locked (FOR UPDATE on PostgreSQL; SQLite runs one writing
    transaction at a time) from reading the count to writing it, so no try is lost and
    the first try after a wait closes the window to the others at once."""
    key, source = address_key(attempt.email), attempt.source(account)
    row = _locked_throttle(session, key, source)
    wait = _wait_left(row.failures, row.last_checked_at, now)
    values = {"failures": SignInThrottle.failures + 1}
    if wait is None:
        values["last_checked_at"] = now
    session.execute(update(SignInThrottle).where(SignInThrottle.id == row.id).values(values))
    if account is not None:  # what admins see: tries on the account from anywhere
        session.execute(
            update(StaffAccount)
            .where(StaffAccount.id == account.id)
            .values(failed_signins=StaffAccount.failed_signins + 1, last_failed_at=now)
        )
    return wait


def _locked_throttle(session: Session, key: str, source: str):
    """The (address, source) throttle row, made if new, locked for this transaction."""
    table = SignInThrottle.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(table)
        .values(address_hash=key, source=source, failures=0)
        .on_conflict_do_nothing(index_elements=["address_hash", "source"])
    )
    query = select(table.c.id, table.c.failures, table.c.last_checked_at).where(
        table.c.address_hash == key, table.c.source == source
    )
    return session.execute(query.with_for_update()).one()


def _forget_tries(session: Session, key: str, source: str) -> None:
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.address_hash == key, SignInThrottle.source == source
        )
    )


def tries(session: Session, email: str, source: str) -> tuple[int, datetime | None]:
    """The tries counted for an address from one source, and when one was last checked."""
    row = session.execute(
        select(SignInThrottle.failures, SignInThrottle.last_checked_at).where(
            SignInThrottle.address_hash == address_key(email), SignInThrottle.source == source
        )
    ).one_or_none()
    return (row.failures, row.last_checked_at) if row else (0, None)


def _slowed(account: StaffAccount | None, wait: timedelta) -> SignIn:
    log_event("staff.signin_slowed", level=logging.WARNING, account=_who(account))
    return SignIn(None, "wait", wait, tried=account)


def _failed(account: StaffAccount | None, problem: str) -> SignIn:
    log_event("staff.signin_failed", level=logging.WARNING, account=_who(account))
    return SignIn(None, problem, tried=account)


def _who(account: StaffAccount | None) -> int | str:
    return account.id if account is not None else "unknown"


def _wait_left(failures: int, last_checked_at: datetime | None, now: datetime) -> timedelta | None:
    extra = failures - FREE_FAILURES
    if extra < 0 or last_checked_at is None:
        return None
    wait = min(FIRST_WAIT * 2 ** min(extra, 20), MAX_WAIT)
    left = last_checked_at + wait - now
    return left if left > timedelta(0) else None
