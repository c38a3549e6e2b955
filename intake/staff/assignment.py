"""Taking a case: it becomes one worker's, its alert stops, the caregiver is told who has it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.cases import lifecycle as cases
from intake.core import words
from intake.core.models import Alert, Case, OnCallPerson
from intake.domain.enums import ALERT_WAITING, CaseStatus
from intake.infra import phones
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.oncall import paging, roster
from intake.oncall.alertwords import staff_words

if TYPE_CHECKING:
    from intake.core.line import Line

OPEN = cases.OPEN_STATUSES
WAITING = ALERT_WAITING  # an alert that still wants someone
NAME_LIMIT = 40  # of a worker's name in a text to a caregiver (the segment budget)
STATUS_WORDS = {CaseStatus.ABANDONED: "left unfinished"}
PURGED_WORDS = "data retention"  # a purged case, as staff read it (intake/cases/retention.py)


@dataclass(frozen=True)
class Taken:
    """What came of taking a case: taken | taken_by_other | over.

    callback is the caregiver's number, given only to the person who has the case;
    who is the person who has it, when that is someone else.
    """

    outcome: str
    case: Case
    callback: str | None = None
    who: str | None = None


def take(
    session: Session,
    line: Line,
    person: OnCallPerson,
    case: Case,
    now: datetime,
    take_over: bool = False,
) -> Taken:
    """Give the case to this person, unless it is over or someone else has it (and this
    is not a TAKE). An alert still waiting always leads to the caller (see _answer_alert).

    The case row is locked first, so two people who ACK at the same moment cannot both
    be told it is theirs.
    """
    session.refresh(case, with_for_update=True)
    alerts = _waiting_alerts(session, case)
    if alerts or _restarted_and_waiting(session, case):
        return _answer_alert(session, line, person, case, alerts, now)
    if case.status == cases.ABANDONED:
        case = _newest_intake(session, case)
    holder = case.assigned_person
    mine = holder is not None and holder.id == person.id
    if case.status not in cases.WORKABLE:  # an intake the caller left may be taken up
        return Taken("over", case, callback(case) if mine else None)
    if holder is not None and not mine and not take_over:
        return Taken("taken_by_other", case, who=holder.name)
    _assign(session, line, person, case, holder, now)
    return Taken("taken", case, callback(case))


def _newest_intake(session: Session, case: Case) -> Case:
    """An intake left unfinished: the one its caller started since (RESTART), locked,
    else this one (taken up as it is)."""
    newer = cases.current_case(session, case.caller)
    if newer is None:
        return case
    session.refresh(newer, with_for_update=True)
    return newer


def _restarted_and_waiting(session: Session, case: Case) -> bool:
    """The caller left this intake half done for a new one (RESTART), whose alert still
    waits: the same caller with the same need."""
    if case.status != CaseStatus.ABANDONED:
        return False
    newer = cases.current_case(session, case.caller)
    return newer is not None and bool(_waiting_alerts(session, newer))


def _answer_alert(
    session: Session,
    line: Line,
    person: OnCallPerson,
    case: Case,
    alerts: list[Alert],
    now: datetime,
) -> Taken:
    """An alert that still pages always ends here: the caller's newest case that is still
    open (else the alert's own case) becomes this person's, and the paging stops."""
    target = case if case.status in OPEN else cases.current_case(session, case.caller) or case
    if target.id != case.id:
        session.refresh(target, with_for_update=True)
        alerts += _waiting_alerts(session, target)
    holder = target.assigned_person
    told: set[str] = set()
    for alert in alerts:
        told |= oncall.acknowledge(session, line, alert, person, now)
    _assign(session, line, person, target, holder, now, told)
    return Taken("taken", target, callback(target))


def _assign(
    session: Session,
    line: Line,
    person: OnCallPerson,
    case: Case,
    holder: OnCallPerson | None,
    now: datetime,
    told: set[str] = frozenset(),
) -> None:
    """The case is this person's: the caregiver is told who will call them, and the worker
    who had it is told (unless just told)."""
    case.assigned_person = person
    if holder is not None and holder.id == person.id:
        return
    tell_caregiver_taken(session, line, person, case, now)
    if holder is None:
        return
    if roster.can_be_paged(holder) and holder.phone not in told:
        params = {"ref": case.ref, "who": person.name}
        paging.tell(session, {holder.phone}, "taken_over", params, case, now)
    log_event("staff.taken_over", case=case.ref, person=person.id, previous=holder.id)


def tell_caregiver_taken(
    session: Session, line: Line, person: OnCallPerson, case: Case, now: datetime
) -> bool:
    """One text to the caregiver: this named person has the case and will call from their
    number (or the caregiver can text back). Once per case and person, however many
    times or ways they take it."""
    who = words.gsm_plain(person.name)[:NAME_LIMIT]
    params = {"who": who, "phone": phones.readable(person.phone, line.settings.default_region)}
    return cases.tell_caregiver(session, case, "case_taken", now, params, once=str(person.id))


def take_text(line: Line, taken: Taken) -> str:
    """The text that answers an ACK, a TAKE or a press of 1 on an alert call."""
    case = taken.case
    if taken.outcome == "taken":
        link = f"{line.settings.public_base_url}/cases/{case.ref}"
        return staff_words("ack_done", ref=case.ref, callback=taken.callback, link=link)
    if taken.outcome == "taken_by_other":
        return staff_words("ack_taken", ref=case.ref, who=taken.who)
    return staff_words(
        "case_over", ref=case.ref, status=status_text(case), callback=taken.callback or ""
    )


def status_text(case: Case) -> str:
    """A finished case's status in the words staff read (and whether retention purged it)."""
    words = STATUS_WORDS.get(case.status, case.status)
    return f"{words}, and its details were deleted ({PURGED_WORDS})" if case.purged_at else words


def callback(case: Case) -> str:
    """The number to call the caregiver back on (none once retention purged the case)."""
    if case.purged_at is not None:
        return ""
    return case.callback_phone or case.caller.phone


def _waiting_alerts(session: Session, case: Case) -> list[Alert]:
    query = select(Alert).where(Alert.case_id == case.id, Alert.status.in_(WAITING))
    return list(session.scalars(query.order_by(Alert.id).with_for_update()))
