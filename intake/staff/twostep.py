"""Two-step sign-in: TOTP codes from an authenticator app, and one-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from intake.core.models import RecoveryCode, StaffAccount
from intake.infra.logs import event as log_event

RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
TOTP_ISSUER = "Intake line"


class TwoStepError(ValueError):
    """Two-step sign-in cannot be set up as asked (it is already on)."""


def begin_two_step(session: Session, account: StaffAccount) -> str:
    """A new secret for the person's app, not yet on: the first right code turns it on."""
    if account.has_two_step:
        raise TwoStepError("two-step sign-in is already on for this account")
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
    if not right_totp(session, account, code, now):
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


def right_totp(session: Session, account: StaffAccount, code: str, now: datetime) -> bool:
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


def use_recovery(session: Session, account: StaffAccount, code: str, now: datetime) -> bool:
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


def clear_two_step(session: Session, account: StaffAccount) -> None:
    account.totp_secret, account.totp_on, account.totp_last_step = None, False, None
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == account.id))
