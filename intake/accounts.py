"""Dashboard accounts: who may sign in, their role, how tries are slowed, their sessions
and their two-step sign-in.

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

A signed-in browser is a StaffSession row; its cookie carries only a random token.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from intake import roster
from intake.db import Database
from intake.domain import StaffRole
from intake.logs import event as log_event
from intake.models import (
    OnCallPerson,
    RecoveryCode,
    SignInThrottle,
    StaffAccount,
    StaffSession,
)

ROLES = tuple(StaffRole)
HASH_METHOD = "scrypt"
MIN_PASSWORD = 12
PASSWORD_RULE = f"at least {MIN_PASSWORD} characters (a few words make a good one)"
FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=2)
MAX_WAIT = timedelta(minutes=15)
SHORT_SESSION = timedelta(hours=12)  # one night's shift
REMEMBER_FOR = timedelta(days=30)  # "keep me signed in"
FORGET_TRIES = timedelta(days=1)  # a source's tries, a day after the last was checked
FORGET_SESSIONS = timedelta(days=30)  # an ended session's row (the staff page's history)
SEEN_EVERY = timedelta(minutes=1)  # a session's last_seen_at is written at most this often
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
TOTP_ISSUER = "Intake line"
# checked against when the address is unknown, so a wrong address takes as long as a wrong
# password and the answer does not tell which accounts exist
_NOBODY = generate_password_hash("nobody has this password", method=HASH_METHOD)


class AccountError(ValueError):
    """An account that cannot be made as asked; the message says why in plain words."""


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


def normalise_email(text: str) -> str:
    """The address as stored, lower-case; its shape checked only roughly (it is a name to
    sign in with: no mail is sent to it)."""
    email = text.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(ch.isspace() or ch == "@" for ch in domain):
        raise AccountError(f"{text!r} is not an email address")
    return email


def add(
    session: Session,
    email: str,
    name: str,
    password: str,
    admin: bool = False,
    phone: str | None = None,
    region: str = "US",
) -> StaffAccount:
    """A new dashboard account; `phone` links it to the roster person with that number."""
    email = normalise_email(email)
    name = " ".join(name.split())
    if not name:
        raise AccountError("a name is needed")
    _check_password(password)
    if by_email(session, email) is not None:
        raise AccountError(f"{email} already has an account")
    account = StaffAccount(
        email=email,
        name=name,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        role=StaffRole.ADMIN if admin else StaffRole.STAFF,
        phone=_phone(phone, region),
        active=True,
        failed_signins=0,
    )
    session.add(account)
    session.flush()
    log_event("staff_account.added", account=account.id, role=account.role)
    return account


def set_password(session: Session, email: str, password: str, now: datetime) -> StaffAccount:
    """A new password: every session signed in with the old one ends."""
    account = _existing(session, email)
    _check_password(password)
    account.password_hash = generate_password_hash(password, method=HASH_METHOD)
    account.failed_signins, account.last_failed_at = 0, None
    ended = end_sessions(session, account, now)
    log_event("staff_account.password_set", account=account.id, sessions_ended=ended)
    return account


def deactivate(session: Session, email: str, now: datetime) -> StaffAccount:
    """The account can no longer sign in, and its sessions end; its name stays on the
    notes and the audit log."""
    account = _existing(session, email)
    account.active = False
    end_sessions(session, account, now)
    log_event("staff_account.deactivated", account=account.id)
    return account


def reset_two_step(session: Session, email: str, now: datetime) -> StaffAccount:
    """Two-step sign-in off, its recovery codes gone and every session ended (the phone
    may be lost): the person sets it up again at their next sign-in."""
    account = _existing(session, email)
    _clear_two_step(session, account)
    end_sessions(session, account, now)
    log_event("staff_account.two_step_reset", account=account.id)
    return account


def set_phone(session: Session, email: str, phone: str | None, region: str) -> StaffAccount:
    """Link the account to the roster person with this number (None unlinks it)."""
    account = _existing(session, email)
    account.phone = _phone(phone, region)
    log_event("staff_account.phone_set", account=account.id, linked=account.phone is not None)
    return account


def set_role(session: Session, email: str, role: str) -> StaffAccount:
    """Make the account staff or admin; the change counts from its next request."""
    if role not in ROLES:
        raise AccountError(f"the role must be one of: {', '.join(ROLES)}")
    account = _existing(session, email)
    account.role = role
    log_event("staff_account.role_set", account=account.id, role=role)
    return account


def _existing(session: Session, email: str) -> StaffAccount:
    account = by_email(session, email)
    if account is None:
        raise AccountError(f"no account for {email.strip()}")
    return account


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have {PASSWORD_RULE}")


def _phone(text: str | None, region: str) -> str | None:
    if not text:
        return None
    try:
        return roster.normalise_phone(text, region)
    except roster.RosterError as error:
        raise AccountError(str(error)) from None


def by_email(session: Session, email: str) -> StaffAccount | None:
    query = select(StaffAccount).where(func.lower(StaffAccount.email) == email.strip().lower())
    return session.scalar(query)


def active(session: Session, account_id: int) -> StaffAccount | None:
    """The account with this id, if it may still sign in."""
    account = session.get(StaffAccount, account_id)
    return account if account is not None and account.active else None


# --- the password and the code: each try counted first, at most one checked per wait ------


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
            _right_totp(session, account, code, now) or _use_recovery(session, account, code, now)
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


# --- sessions: a row per signed-in browser ------------------------------------------------


def start_session(
    session: Session, account: StaffAccount, remember: bool, user_agent: str, now: datetime
) -> str:
    """A new session for this browser; returns the token its cookie carries (only its
    hash is stored, so a copy of the table signs no one in)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=_token_hash(token),
            staff_id=account.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + (REMEMBER_FOR if remember else SHORT_SESSION),
            user_agent=user_agent[:100],
        )
    )
    return token


def session_account(db: Database, token: str, now: datetime) -> StaffAccount | None:
    """The account a session token is signed in as, if the session is still on."""
    with db.sessions() as session:
        row = session.get(StaffSession, _token_hash(token))
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        account = active(session, row.staff_id)
        stale = now - row.last_seen_at >= SEEN_EVERY
    if account is not None and stale:
        with db.transaction() as session:
            session.execute(
                update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now)
            )
    return account


def end_session(session: Session, token: str, now: datetime) -> None:
    """Sign-out: this session's token signs no one in again, wherever it was copied to."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == _token_hash(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions(session: Session, account: StaffAccount, now: datetime) -> int:
    """Sign out everywhere: every session of this account ends. Returns how many."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == account.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return result.rowcount


def open_sessions(session: Session, account: StaffAccount, now: datetime) -> list[StaffSession]:
    """The account's sessions still on, most recently seen first."""
    query = select(StaffSession).where(
        StaffSession.staff_id == account.id,
        StaffSession.ended_at.is_(None),
        StaffSession.expires_at > now,
    )
    return list(session.scalars(query.order_by(StaffSession.last_seen_at.desc())))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- two-step sign-in: TOTP codes from an app, and recovery codes -------------------------


def begin_two_step(session: Session, account: StaffAccount) -> str:
    """A new secret for the person's app, not yet on: the first right code turns it on."""
    if account.has_two_step:
        raise AccountError("two-step sign-in is already on for this account")
    account.totp_secret = pyotp.random_base32()
    return account.totp_secret


def app_link(account: StaffAccount, issuer: str = TOTP_ISSUER) -> str:
    """The otpauth:// link an authenticator app reads from the QR code."""
    return pyotp.TOTP(account.totp_secret).provisioning_uri(name=account.email, issuer_name=issuer)


def confirm_two_step(
    session: Session, account: StaffAccount, code: str, now: datetime
) -> list[str] | None:
    """Turn two-step sign-in on if the code is right; returns the recovery codes (shown
    once, kept only as hashes), or None for a wrong code."""
    if account.totp_secret is None or account.has_two_step:
        return None
    if not _right_totp(session, account, code, now):
        return None
    account.totp_on = True
    codes = _new_recovery_codes(session, account)
    log_event("staff_account.two_step_on", account=account.id)
    return codes


def recovery_left(session: Session, account: StaffAccount) -> int:
    query = select(func.count()).where(
        RecoveryCode.staff_id == account.id, RecoveryCode.used_at.is_(None)
    )
    return session.scalar(query) or 0


def _right_totp(session: Session, account: StaffAccount, code: str, now: datetime) -> bool:
    """The app's code for now (or 30 s either side, for a phone's clock), never one used
    before: the step it matched is kept, by one UPDATE that only a newer step passes."""
    digits = "".join(code.split())
    if account.totp_secret is None or len(digits) != 6 or not digits.isdigit():
        return False
    totp = pyotp.TOTP(account.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), digits):
            return _keep_step(session, account, step)
    return False


def _keep_step(session: Session, account: StaffAccount, step: int) -> bool:
    last = StaffAccount.totp_last_step
    result = session.execute(
        update(StaffAccount)
        .where(StaffAccount.id == account.id, (last.is_(None)) | (last < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        account.totp_last_step = step
    return bool(result.rowcount)


def _use_recovery(session: Session, account: StaffAccount, code: str, now: datetime) -> bool:
    """Use up a recovery code: one UPDATE, so a code used twice at once works once."""
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == account.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if result.rowcount:
        log_event("staff.recovery_code_used", account=account.id)
    return bool(result.rowcount)


def _new_recovery_codes(session: Session, account: StaffAccount) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == account.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        session.add(RecoveryCode(staff_id=account.id, code_hash=_recovery_hash(raw)))
    return codes


def _recovery_hash(code: str) -> str:
    """A recovery code's hash, as typed with or without dashes, spaces or capitals (a code
    carries about 59 random bits, so a fast hash is enough)."""
    kept = "".join(ch for ch in code.lower() if ch in RECOVERY_ALPHABET)
    return hashlib.sha256(kept.encode()).hexdigest()


def _clear_two_step(session: Session, account: StaffAccount) -> None:
    account.totp_secret, account.totp_on, account.totp_last_step = None, False, None
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == account.id))


def roster_person(session: Session, account: StaffAccount) -> OnCallPerson | None:
    """The roster person this account is, by phone number (for take = ACK, texting)."""
    return roster.by_phone(session, account.phone) if account.phone else None


def everyone(session: Session) -> list[StaffAccount]:
    """Every account, active ones first, by name."""
    query = select(StaffAccount).order_by(StaffAccount.active.desc(), StaffAccount.name)
    return list(session.scalars(query))
