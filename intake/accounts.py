"""Dashboard accounts: who may sign in, their role, and how failed sign-ins are slowed.

Passwords are hashed with scrypt (werkzeug.security). After FREE_FAILURES wrong passwords
in a row an account waits before the next try, twice as long each time (up to MAX_WAIT);
every failure is logged with the account's id, never the address or the password.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from intake import roster
from intake.logs import event as log_event
from intake.models import OnCallPerson, StaffAccount

ROLES = ("staff", "admin")
HASH_METHOD = "scrypt"
MIN_PASSWORD = 12
PASSWORD_RULE = f"at least {MIN_PASSWORD} characters (a few words make a good one)"
FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=2)
MAX_WAIT = timedelta(minutes=15)
# checked against when the address is unknown, so a wrong address takes as long as a wrong
# password and the answer does not tell which accounts exist
_NOBODY = generate_password_hash("nobody has this password", method=HASH_METHOD)


class AccountError(ValueError):
    """An account that cannot be made as asked; the message says why in plain words."""


@dataclass(frozen=True)
class SignIn:
    """What came of a sign-in: the account, or why not (wrong | wait), and for how long;
    `tried` is the account a refused sign-in was for, when the address is known."""

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
        role="admin" if admin else "staff",
        phone=_phone(phone, region),
        active=True,
        failed_signins=0,
    )
    session.add(account)
    session.flush()
    log_event("staff_account.added", account=account.id, role=account.role)
    return account


def set_password(session: Session, email: str, password: str) -> StaffAccount:
    """A new password: every device signed in with the old one is signed out."""
    account = _existing(session, email)
    _check_password(password)
    account.password_hash = generate_password_hash(password, method=HASH_METHOD)
    account.failed_signins, account.last_failed_at = 0, None
    log_event("staff_account.password_set", account=account.id)
    return account


def deactivate(session: Session, email: str) -> StaffAccount:
    """The account can no longer sign in, and its sessions end at their next request; its
    name stays on the notes and the audit log."""
    account = _existing(session, email)
    account.active = False
    log_event("staff_account.deactivated", account=account.id)
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


def everyone(session: Session) -> list[StaffAccount]:
    """Every account, active ones first, then by address."""
    query = select(StaffAccount).order_by(StaffAccount.active.desc(), StaffAccount.email)
    return list(session.scalars(query))


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


def sign_in(session: Session, email: str, password: str, now: datetime) -> SignIn:
    """Check an address and password; a wrong one counts against the account."""
    try:
        account = by_email(session, normalise_email(email))
    except AccountError:
        account = None
    if account is None or not account.active:
        return _stranger(email, password, now)
    wait = still_waiting(account, now)
    if wait is not None:
        log_event("staff.signin_slowed", level=logging.WARNING, account=account.id)
        return SignIn(None, "wait", wait, tried=account)
    if not check_password_hash(account.password_hash, password):
        account.failed_signins += 1
        account.last_failed_at = now
        log_event(
            "staff.signin_failed",
            level=logging.WARNING,
            account=account.id,
            failures=account.failed_signins,
        )
        return SignIn(None, "wrong", tried=account)
    account.failed_signins, account.last_failed_at = 0, None
    log_event("staff.signed_in", account=account.id)
    return SignIn(account)


def still_waiting(account: StaffAccount, now: datetime) -> timedelta | None:
    """How long this account must still wait before its next try, if at all."""
    return _wait_left(account.failed_signins, account.last_failed_at, now)


def _wait_left(failures: int, last_failed_at: datetime | None, now: datetime) -> timedelta | None:
    extra = failures - FREE_FAILURES
    if extra < 0 or last_failed_at is None:
        return None
    wait = min(FIRST_WAIT * 2**extra, MAX_WAIT)
    left = last_failed_at + wait - now
    return left if left > timedelta(0) else None


# Failures for addresses with no account, slowed the same way so that "wait" does not tell
# which addresses exist. Kept per process, by a hash of the address, for the most recent few.
_STRANGERS: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
_STRANGERS_KEPT = 10_000
_strangers_lock = threading.Lock()


def _stranger(email: str, password: str, now: datetime) -> SignIn:
    """A sign-in for an address with no (active) account: refused like a wrong password."""
    key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    with _strangers_lock:
        failures, last = _STRANGERS.get(key, (0, None))
    wait = _wait_left(failures, last, now)
    if wait is not None:
        log_event("staff.signin_slowed", level=logging.WARNING, account="unknown")
        return SignIn(None, "wait", wait)
    check_password_hash(_NOBODY, password)  # as long as a wrong password takes
    with _strangers_lock:
        _STRANGERS[key] = (failures + 1, now)
        _STRANGERS.move_to_end(key)
        while len(_STRANGERS) > _STRANGERS_KEPT:
            _STRANGERS.popitem(last=False)
    log_event("staff.signin_failed", level=logging.WARNING, account="unknown")
    return SignIn(None, "wrong")


def session_stamp(account: StaffAccount) -> str:
    """A value kept in the signed session: it changes with the password, so a new password
    signs out every other device."""
    return account.password_hash[-16:]


def roster_person(session: Session, account: StaffAccount) -> OnCallPerson | None:
    """The roster person this account is, by phone number (for take = ACK, texting)."""
    return roster.by_phone(session, account.phone) if account.phone else None
