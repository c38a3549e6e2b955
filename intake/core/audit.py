"""The audit logs: every view of a case and every action on the dashboard, with who and
when; and every step the line takes to wake someone for a case (the escalation log).

`detail` is a short word or two (a role, a count), never a message, a name or a number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from intake.core.models import Alert, AuditEntry, Case, EscalationEntry, OnCallPerson, StaffAccount
from intake.domain.enums import EscalationAction
from intake.infra import clock

PAGE_SIZE = 200


def record(
    session: Session,
    staff: StaffAccount | None,
    action: EscalationAction,
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


# What the line did or heard while waking someone, as the case page says it ("texted Dana").
ESCALATION_WORDS = {
    EscalationAction.STARTED: "alert started",
    EscalationAction.TEXTED: "texted {who}",
    EscalationAction.CALLED: "called {who}",
    EscalationAction.NO_ANSWER: "called {who}, no answer",
    EscalationAction.BUSY: "called {who}, busy",
    EscalationAction.NOT_DELIVERED: "could not reach {who}",
    EscalationAction.TOOK: "{who} took it",
    EscalationAction.FALLBACK: "texted the fallback number",
    EscalationAction.NO_FALLBACK: "nobody on call and no fallback number set",
    EscalationAction.EXHAUSTED: "the plan is over: nobody took it",
    EscalationAction.STOOD_DOWN: "stood down",
}


def escalation(
    session: Session,
    alert: Alert,
    action: str,
    now: datetime,
    person: OnCallPerson | None = None,
    detail: str = "",
) -> EscalationEntry:
    """Keep one step the line took for an alert (ESCALATION_WORDS says which)."""
    if action not in ESCALATION_WORDS:
        raise ValueError(f"no such escalation action: {action}")
    entry = EscalationEntry(
        case=alert.case,
        alert=alert,
        person=person,
        action=action,
        detail=detail[:40],
        created_at=now,
    )
    session.add(entry)
    return entry


def escalation_log(session: Session, case: Case) -> list[EscalationEntry]:
    """Every step the line took for the case's alerts, oldest first."""
    query = (
        select(EscalationEntry)
        .options(joinedload(EscalationEntry.person))
        .where(EscalationEntry.case_id == case.id)
        .order_by(EscalationEntry.created_at, EscalationEntry.id)
    )
    return list(session.scalars(query))


def escalation_words(entry: EscalationEntry) -> str:
    """One step as staff read it: 'called Dana, no answer'; a detail in brackets."""
    who = entry.person.name if entry.person is not None else "someone"
    words = ESCALATION_WORDS[entry.action].format(who=who)
    return f"{words} ({entry.detail})" if entry.detail else words
