"""Dashboard accounts: who may sign in and their role (the sign-in itself: signin.py,
staff_sessions.py, twostep.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from intake.core.models import OnCallPerson, StaffAccount
from intake.domain.enums import StaffRole
from intake.infra import phones
from intake.infra.logs import event as log_event
from intake.oncall import roster
from intake.staff.sessions import end_sessions
from intake.staff.twostep import clear_two_step

ROLES = tuple(StaffRole)
HASH_METHOD = "scrypt"
MIN_PASSWORD = 12
PASSWORD_RULE = f"at least {MIN_PASSWORD} characters (a few words make a good one)"


class AccountError(ValueError):
    """An account that cannot be made as asked; the message says why in plain words."""


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
    region: str = phones.DEFAULT_REGION,
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
    clear_two_step(session, account)
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


def roster_person(session: Session, account: StaffAccount) -> OnCallPerson | None:
    """The roster person this account is, by phone number (for take = ACK, texting)."""
    return roster.by_phone(session, account.phone) if account.phone else None


def everyone(session: Session) -> list[StaffAccount]:
    """Every account, active ones first, by name."""
    query = select(StaffAccount).order_by(StaffAccount.active.desc(), StaffAccount.name)
    return list(session.scalars(query))
