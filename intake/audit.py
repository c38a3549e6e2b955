"""The audit log: every view of a case and every action on the dashboard, with who and when.

`detail` is a short word or two (a role, a count), never a message, a name or a number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from intake import clock
from intake.models import AuditEntry, Case, StaffAccount

PAGE_SIZE = 200


def record(
    session: Session,
    staff: StaffAccount | None,
    action: str,
    case: Case | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """Keep one line of the audit log."""
    entry = AuditEntry(
        staff_id=staff.id if staff is not None else None,
        action=action,
        case_id=case.id if case is not None else None,
        detail=detail[:200],
        created_at=now or clock.of(session).now(),
    )
    session.add(entry)
    return entry


def newest(session: Session, limit: int = PAGE_SIZE, case: Case | None = None) -> list[AuditEntry]:
    """The newest entries (of one case, if given), newest first."""
    query = select(AuditEntry).options(joinedload(AuditEntry.staff), joinedload(AuditEntry.case))
    if case is not None:
        query = query.where(AuditEntry.case_id == case.id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
