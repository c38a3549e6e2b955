"""Signed-in browsers: a StaffSession row per browser, its cookie carrying only a random token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.core.models import StaffAccount, StaffSession
from intake.infra.db import Database

SHORT_SESSION = timedelta(hours=12)  # one night's shift
REMEMBER_FOR = timedelta(days=30)  # "keep me signed in"
SEEN_EVERY = timedelta(minutes=1)  # a session's last_seen_at is written at most this often


def active(session: Session, account_id: int) -> StaffAccount | None:
    """The account with this id, if it may still sign in."""
    account = session.get(StaffAccount, account_id)
    return account if account is not None and account.active else None


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
