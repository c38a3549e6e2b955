"""Relays between a caregiver and the worker who has their case, through the line's number."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from intake.cases import lifecycle as cases
from intake.core import outbox
from intake.core.models import Case, OnCallPerson
from intake.domain.enums import Medium, OutboxKind
from intake.oncall import roster
from intake.oncall.alertwords import STAFF, staff_words
from intake.staff.assignment import callback, status_text

if TYPE_CHECKING:
    pass

FINISHED = cases.FINISHED_STATUSES  # an abandoned intake still has a caller
# A relay of up to 1,500 characters goes whole; a longer one is cut to 1,400 (at a word),
# marked "...", and its reader told so and where the rest is: room for those words within
# Twilio's 1,600 characters. The whole text is kept (the case page, the staff command).
RELAY_LIMIT = 1500
RELAY_CUT_AT = 1400


def relay_to_caregiver(
    session: Session, person: OnCallPerson, ref: str, text: str, now: datetime
) -> tuple[list[str], Case | None]:
    """R <ref> message: text the caregiver of this worker's case from the line's number."""
    case = cases.by_ref(session, ref)
    if case is None:
        return [staff_words("no_such_case", ref=ref.upper())], None
    said, _ = text_caregiver(session, person, case, text.split(None, 2)[2], now)
    return [said], case


def text_caregiver(
    session: Session, person: OnCallPerson, case: Case, message: str, now: datetime
) -> tuple[str, bool]:
    """Text the caregiver of this worker's case from the line's number (R on SMS, the
    dashboard's "text the caregiver"): the words that tell the worker what came of it, and
    whether the text was queued."""
    mine = case.assigned_person_id == person.id
    if case.status in FINISHED:
        number = callback(case) if mine else ""
        return (
            staff_words("relay_case_over", ref=case.ref, status=status_text(case), callback=number),
            False,
        )
    if not mine:
        return staff_words("relay_not_yours", ref=case.ref), False
    caller = case.caller
    if caller.opted_out_at is not None:
        return staff_words("relay_opted_out", ref=case.ref, callback=callback(case)), False
    outbox.enqueue(
        session,
        kind=OutboxKind.RELAY,
        to=caller.phone,
        send_at=now,
        template="relay_from_worker",
        params={"ref": case.ref, **relay_words(message)},
        lang=caller.lang,
        case_id=case.id,
        caller_id=caller.id,
        channel=Medium.SMS,
    )
    return staff_words("relay_sent", ref=case.ref), True


def relay_words(text: str) -> dict[str, object]:
    """A relay's `text` and whether it was `cut` (the templates then say so and where the
    rest is): a long one is cut at the last space before RELAY_CUT_AT and marked "..."."""
    if len(text) <= RELAY_LIMIT:
        return {"text": text, "cut": False}
    head = text[:RELAY_CUT_AT]
    space = head.rfind(" ")
    if space > RELAY_CUT_AT - 100:  # a word boundary near the end; else cut mid-word
        head = head[:space]
    return {"text": head.rstrip() + "...", "cut": True}


def worker_of(case: Case | None) -> OnCallPerson | None:
    """The worker who has the case and can still be texted, if any."""
    worker = case.assigned_person if case is not None else None
    return worker if roster.can_be_paged(worker) else None


def relay_to_worker(session: Session, case: Case, text: str, now: datetime) -> None:
    """A caregiver's text on an assigned case goes on to the worker, with the case ref."""
    worker = worker_of(case)
    if worker is None or not text.strip():
        return
    outbox.enqueue(
        session,
        kind=OutboxKind.RELAY,
        to=worker.phone,
        send_at=now,
        template=f"{STAFF}:relay_to_worker",
        params={"ref": case.ref, **relay_words(text)},
        case_id=case.id,
        channel=Medium.SMS,
    )
