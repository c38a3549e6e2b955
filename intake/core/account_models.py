"""The dashboard's sign-in tables: staff accounts, sign-in tries, browsers, recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.core.modelbase import Base
from intake.domain.enums import StaffRole
from intake.infra.clock import stamp
from intake.infra.crypto import Encrypted


class StaffAccount(Base):
    """Someone who signs in to the dashboard: staff work cases, admins also edit the roster
    and read the audit log. `phone` links the account to a roster person (take = ACK)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10), default=StaffRole.STAFF)  # StaffRole
    phone: Mapped[str | None] = mapped_column(String(40))  # E.164: their roster number
    active: Mapped[bool] = mapped_column(default=True)
    # every refused try for this address since its last sign-in, from any device (admins
    # see it); the wait itself is per address and device (SignInThrottle)
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    totp_secret: Mapped[str | None] = mapped_column(Encrypted)  # two-step sign-in, if set up
    totp_on: Mapped[bool] = mapped_column(default=False)  # confirmed with a first code
    totp_last_step: Mapped[int | None]  # the last code's time step: no code is used twice

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    @property
    def has_two_step(self) -> bool:
        return self.totp_on and self.totp_secret is not None


class SignInThrottle(Base):
    """Tries to sign in as one address (a hash: no address is kept) from one source (a
    network address, or a device that signed in before), for the wait between tries."""

    __tablename__ = "signin_throttles"
    __table_args__ = (UniqueConstraint("address_hash", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(80))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # tries since the last sign-in
    last_checked_at: Mapped[datetime | None]  # when a password or code was last checked


class StaffSession(Base):
    """One signed-in browser: the cookie carries a random token, this row its hash. It ends
    at sign-out, a new password, an admin's "sign out everywhere", or `expires_at`."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_seen_at: Mapped[datetime] = mapped_column(default=stamp)
    expires_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(100), default="")  # "Firefox on Android"
    ended_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """A one-time code for two-step sign-in without the phone (shown once, kept hashed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
