"""Opting out of texts: the one path every STOP reaches, and a worker's cases handed back.

A caller's or a roster member's STOP text, the staff command, a STOP kept while the
database hung (intake/channels/fallbacks.py) and Twilio's error 21610 (a number that opted out
with the carrier) all call `opt_out`: the number gets nothing more, and a roster member
is taken off the chain with their open cases handed back, the fallback number told.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.cases import lifecycle as cases
from intake.core import outbox
from intake.core.models import Caller, Case, OnCallPerson
from intake.domain.enums import AlertReason, Medium, OutboxKind
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.oncall import roster
from intake.oncall.alertwords import STAFF

if TYPE_CHECKING:
    from intake.core.line import Line

REASON = outbox.OPTED_OUT_REASON


def opt_out(session: Session, line: Line, phone: str, now: datetime) -> int:
    """This number opted out at `now`: a caller's texts stop; a roster member is off the
    chain (kept on the roster) and their open cases go back to it; everything still
    pending to the number is cancelled. Returns how many rows were cancelled."""
    person = roster.by_phone(session, phone, lock=True)
    if person is not None:
        _stop_person(session, line, person, now)
    for table in (Caller, OnCallPerson):  # a caller, or someone who has left the roster
        session.execute(
            update(table)
            .where(table.phone == phone, table.opted_out_at.is_(None))
            .values(opted_out_at=now)
        )
    return outbox.cancel_pending(session, REASON, to=phone)


def _stop_person(session: Session, line: Line, person: OnCallPerson, now: datetime) -> None:
    """A roster member can no longer be texted: off the chain, fallback told.

    Their open cases go back to the chain: a caregiver on one of them must not be talking
    to someone the line cannot reach."""
    if person.opted_out_at is not None:
        return
    person.opted_out_at = now
    refs = _open_refs(session, person)
    hand_back(session, line, person, now, REASON)
    fallback = line.settings.fallback_alert_number
    if fallback is None:
        log_event("staff.stopped_untold", level=logging.WARNING, person=person.id)
        return
    outbox.enqueue(
        session,
        kind=OutboxKind.STAFF_NOTICE,
        to=fallback,
        send_at=now,
        template=f"{STAFF}:staff_stopped",
        params={"who": person.name, "phone": person.phone, "refs": refs},
        channel=Medium.SMS,
    )
    log_event("staff.stopped", person=person.id)


def hand_back(
    session: Session, line: Line, person: OnCallPerson, now: datetime, why: str = "left the roster"
) -> list[Case]:
    """A worker left the roster (or stopped texts): no more pages to them, and each of their
    open cases is unassigned and alerted to the chain again (the caregiver's texts follow
    whoever takes it)."""
    oncall.take_off_chain(session, line, person, why, now)
    query = select(Case).where(
        Case.assigned_person_id == person.id, Case.status.in_(cases.OPEN_STATUSES)
    )
    handed = list(session.scalars(query.order_by(Case.id).with_for_update()))
    for case in handed:
        give_back(session, line, person, case, now)
    return handed


def give_back(session: Session, line: Line, person: OnCallPerson, case: Case, now: datetime):
    """This case is no longer this person's: the chain is woken for it again."""
    case.assigned_person = None
    oncall.start_alert(session, line, case, AlertReason.HANDED_BACK, now)
    log_event("staff.handed_back", case=case.ref, person=person.id)


def _open_refs(session: Session, person: OnCallPerson) -> str:
    query = select(Case.ref).where(
        Case.assigned_person_id == person.id, Case.status.in_(cases.OPEN_STATUSES)
    )
    return ", ".join(session.scalars(query.order_by(Case.id)))
