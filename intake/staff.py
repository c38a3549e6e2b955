"""Texts from a number on the roster are staff commands, not a caregiver conversation.

ACK [ref], ACK ALL, STATUS, HELP, and R <ref> <message> (relayed to the caregiver from the line's
number, so the worker's own number stays private).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.parse import keyword
from intake import oncall, outbox
from intake.models import Alert, Case, OnCallPerson

OPEN = ("intake", "open")
RELAY_LIMIT = 1500  # Twilio refuses bodies over 1,600 characters; the whole text is kept


def handle(
    session: Session, line, person: OnCallPerson, text: str, now: datetime
) -> tuple[list[str], Case | None]:
    """Run one staff command; returns the replies and the case it was about."""
    words = text.split()
    command = words[0].upper().strip(".!") if words else ""
    if keyword(text) == "stop":
        return [], None  # Twilio confirms opt-outs itself; never answer STOP
    if command == "ACK" and [w.upper() for w in words[1:]] == ["ALL"]:
        return ack_all(session, line, person, now)
    if command == "ACK":
        return ack(session, line, person, words[1] if len(words) > 1 else None, now)
    if command == "STATUS":
        return [status(session, person)], None
    if command in ("R", "REPLY") and len(words) >= 3:
        return relay_to_caregiver(session, line, person, words[1], text, now)
    return [oncall.staff_words("staff_help", unknown=command not in ("HELP", "INFO", "?"))], None


def ack(
    session: Session, line, person: OnCallPerson, ref: str | None, now: datetime
) -> tuple[list[str], Case | None]:
    """Take a case: the newest alert sent to this person, or the case named."""
    if ref is None:
        alert = oncall.alert_to_ack(session, person)
        if alert is None:
            return [oncall.staff_words("ack_nothing")], None
        case = alert.case
    else:
        case = _case(session, ref)
        if case is None:
            return [oncall.staff_words("no_such_case", ref=ref.upper())], None
    return take(session, line, person, case, now), case


def take(session: Session, line, person: OnCallPerson, case: Case, now: datetime) -> list[str]:
    """Give the case to this person unless it is over or someone else has it.

    The case row is locked first, so two people who ACK at the same moment cannot both
    be told it is theirs.
    """
    session.refresh(case, with_for_update=True)
    newest = select(Alert).where(Alert.case_id == case.id).order_by(Alert.id.desc()).limit(1)
    alert = session.scalar(newest.with_for_update())
    if case.status not in OPEN:
        return [oncall.staff_words("case_over", ref=case.ref, status=case.status)]
    taken_by = case.assigned_person
    if taken_by is not None and taken_by.id != person.id:
        return [oncall.staff_words("ack_taken", ref=case.ref, who=taken_by.name)]
    if alert is not None and alert.status in ("open", "exhausted"):
        oncall.acknowledge(session, line, alert, person, now)
    case.assigned_person = person
    return [
        oncall.staff_words(
            "ack_done",
            ref=case.ref,
            callback=case.callback_phone or case.caller.phone,
            link=_link(line, case),
        )
    ]


def status(session: Session, person: OnCallPerson) -> str:
    query = (
        select(Case)
        .where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
        .order_by(Case.id)
    )
    cases = list(session.scalars(query))
    refs = ", ".join(f"{c.ref} (age {oncall.age_text(c.age_months)})" for c in cases[:8])
    return oncall.staff_words("staff_status", count=len(cases), refs=refs)


def relay_to_caregiver(
    session: Session, line, person: OnCallPerson, ref: str, text: str, now: datetime
) -> tuple[list[str], Case | None]:
    case = _case(session, ref)
    if case is None:
        return [oncall.staff_words("no_such_case", ref=ref.upper())], None
    if case.assigned_person_id != person.id:
        return [oncall.staff_words("relay_not_yours", ref=case.ref)], case
    caller = case.caller
    if caller.opted_out_at is not None:
        callback = case.callback_phone or caller.phone
        return [oncall.staff_words("relay_opted_out", ref=case.ref, callback=callback)], case
    message = text.split(None, 2)[2][:RELAY_LIMIT]
    outbox.enqueue(
        session,
        kind="relay",
        to=caller.phone,
        send_at=now,
        template="relay_from_worker",
        params={"ref": case.ref, "text": message},
        lang=caller.lang,
        case_id=case.id,
        caller_id=caller.id,
    )
    return [oncall.staff_words("relay_sent", ref=case.ref)], case


def relay_to_worker(session: Session, case: Case, text: str, now: datetime) -> None:
    """A caregiver's text on an assigned case goes on to the worker, with the case ref."""
    worker = case.assigned_person
    if worker is None or not worker.active or not text.strip():
        return
    outbox.enqueue(
        session,
        kind="relay",
        to=worker.phone,
        send_at=now,
        template=f"{oncall.STAFF}:relay_to_worker",
        params={"ref": case.ref, "text": text[:RELAY_LIMIT]},
        case_id=case.id,
    )


def ack_all(
    session: Session, line, person: OnCallPerson, now: datetime
) -> tuple[list[str], Case | None]:
    """ACK ALL: take, each as ACK would, every case whose alert to this person still waits."""
    cases = [alert.case for alert in oncall.alerts_to_ack_all(session, person)]
    if not cases:
        return [oncall.staff_words("ack_nothing")], None
    for case in cases:
        take(session, line, person, case, now)
    mine = [c for c in cases if c.assigned_person_id == person.id and c.status in OPEN]
    others = [c for c in cases if c not in mine]
    return [
        oncall.staff_words(
            "ack_all_done",
            mine=", ".join(f"{c.ref} ({c.callback_phone or c.caller.phone})" for c in mine),
            others=", ".join(_not_taken(c) for c in others),
        )
    ], None


def _not_taken(case: Case) -> str:
    """Why ACK ALL did not take a case, in a few words."""
    if case.status not in OPEN:
        return f"{case.ref} ({case.status})"
    who = case.assigned_person.name if case.assigned_person else "someone else"
    return f"{case.ref} (taken by {who})"


def _case(session: Session, ref: str) -> Case | None:
    return session.scalar(select(Case).where(Case.ref == ref.strip().upper()))


def _link(line, case: Case) -> str:
    return f"{line.settings.public_base_url}/cases/{case.ref}"
