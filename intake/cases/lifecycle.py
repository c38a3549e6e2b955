"""Cases: the record an intake produces, filled in answer by answer."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, select
from sqlalchemy.orm import Session, aliased

from intake.cases import followups
from intake.core import outbox
from intake.core.models import Caller, Case, CaseMedia
from intake.domain.enums import (
    FINISHED_CASE,
    FOUNDABLE_CASE,
    OPEN_CASE,
    WORKABLE_CASE,
    CaseStatus,
    Medium,
    OutboxKind,
)
from intake.infra import clock, db
from intake.oncall import escalation as oncall

REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # no look-alikes: 0/O, 1/I/L, 2/Z, 5/S, 8/B
REF_LENGTH = 6
# The rules are CaseStatus's (intake/domain/enums.py); these names stay for their callers.
OPEN_STATUSES = OPEN_CASE
FINISHED_STATUSES = FINISHED_CASE  # retention's clock starts; nothing more to relay
ABANDONED = CaseStatus.ABANDONED  # an intake left half done: timed out, or started again
WORKABLE = WORKABLE_CASE  # staff may still take, find or close it
FOUNDABLE = FOUNDABLE_CASE  # a caregiver may still tell us after staff closed it
CAREGIVER_TOLD = OutboxKind.CAREGIVER_TOLD  # a text telling a caregiver what staff did

# answer key -> Case column; values needing more than a copy are handled below
PLAIN_ANSWERS = {
    "child_name": "child_name",
    "age_months": "age_months",
    "last_seen_where": "last_seen_where",
    "description": "description",
    "police_called": "police_called",
    "police_report": "police_report",
    "relationship": "relationship_to_child",
    "callback_phone": "callback_phone",
    "children": "children",
    "police_refused": "police_refused",
}


def new_ref() -> str:
    """A short case reference a frightened caller can read out over the phone."""
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def open_case(
    session: Session,
    caller: Caller,
    lang: str,
    channel: str,
    reported_missing=False,
    test: bool = False,
) -> Case:
    """Start a case for a new intake: one INSERT, its reference made unique by the
    database (a reference already taken inserts nothing, and another is drawn). `test`:
    the phone simulator's (intake/cases/simulated.py)."""
    while True:
        insert = outbox.dialect_insert(session, Case).values(
            ref=new_ref(),
            caller_id=caller.id,
            status=CaseStatus.INTAKE,
            lang=lang,
            channel=channel,
            reported_missing=reported_missing,
            is_test=test,
            created_at=clock.of(session).now(),
        )
        returning = insert.on_conflict_do_nothing(index_elements=["ref"]).returning(Case)
        case = session.scalars(returning).one_or_none()
        if case is not None:
            return case


def current_case(session: Session, caller: Caller) -> Case | None:
    """The caller's newest case that is still being taken or worked."""
    return session.scalar(_CURRENT_CASE, {"caller_id": caller.id})


def current_case_id(caller_id) -> ScalarSelect:
    """SQL for the id of a caller's current case (`current_case`), to ask inside another
    query: `caller_id` is a column or a bind parameter."""
    newest = aliased(Case)
    query = select(newest.id).where(newest.caller_id == caller_id)
    query = query.where(newest.status.in_(OPEN_STATUSES))
    return query.order_by(newest.id.desc()).limit(1).scalar_subquery()


def by_ref(session: Session, ref: str) -> Case | None:
    """The case with this reference, as staff type or read it (any case, spaces around it);
    the one lookup by ref (the dashboard, staff commands, the CLI)."""
    return session.scalar(select(Case).where(ref_is(ref)))


def ref_is(ref: str) -> ColumnElement[bool]:
    """SQL for "the case with this reference", as typed: to narrow another query."""
    return Case.ref == ref.strip().upper()


def latest_case(session: Session, caller: Caller) -> Case | None:
    """The caller's newest case, whatever its status."""
    return session.scalar(_LATEST_CASE, {"caller_id": caller.id})


# Asked on every text: built once (building a statement costs more CPU than running it).
_LATEST_CASE = (
    select(Case).where(Case.caller_id == bindparam("caller_id")).order_by(Case.id.desc()).limit(1)
)
_CURRENT_CASE = select(Case).where(Case.id == current_case_id(bindparam("caller_id")))


def within_reopen_window(settings, case: Case, now: datetime) -> bool:
    """Staff closed this case lately: the caregiver's texts still go to its worker."""
    if case.status != CaseStatus.CLOSED or case.closed_at is None:
        return False
    return now - case.closed_at <= settings.case_reopen_window


def record_answer(session: Session, case: Case, key: str, value: Any, now: datetime) -> None:
    """Copy one answer from the conversation onto the case, written at once."""
    columns = answer_columns(key, value, now)
    if columns:
        db.write_through(session, case, **columns)


def answer_columns(key: str, value: Any, now: datetime) -> dict[str, Any]:
    """The case columns one answer sets."""
    if key in PLAIN_ANSWERS:
        return {PLAIN_ANSWERS[key]: value}
    if key == "last_seen_when" and value is not None:
        minutes = value.get("ago_minutes")
        seen_at = None if minutes is None else now - timedelta(minutes=minutes)
        return {"last_seen_when": value["text"], "last_seen_at": seen_at, "last_seen_told_at": now}
    return {}


def add_media(session: Session, case: Case, media: tuple[Any, ...]) -> None:
    for item in media:
        session.add(CaseMedia(case=case, url=item.url, content_type=item.content_type))


def take_up_again(case: Case) -> bool:
    """The caller of an intake marked abandoned answers again: it goes on where it stopped,
    under way ("intake") with its answers kept. False for any other case."""
    if case.status != ABANDONED or case.purged_at is not None:
        return False
    case.status = CaseStatus.INTAKE
    return True


def complete(case: Case, now: datetime) -> None:
    case.status = CaseStatus.OPEN
    case.completed_at = now


def close(session: Session, case: Case, now: datetime) -> bool:
    """Staff close a case: the caregiver is told, and nothing more is sent for it.
    Returns whether the caregiver was texted."""
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    followups.cancel(session, case, "case closed")
    oncall.stand_down(session, case, "closed", case.closed_at)
    return tell_caregiver(session, case, "case_closed", case.closed_at)


def mark_found(case: Case, now: datetime) -> None:
    case.status = CaseStatus.FOUND
    case.found_at = now


def found(session: Session, case: Case, now: datetime) -> bool:
    """The child is found (the caregiver texted FOUND, or staff marked it): the follow-ups
    stop and whoever was woken or has the case is told. False when it is already found."""
    if case.status not in FOUNDABLE:
        return False
    mark_found(case, now)
    followups.cancel(session, case, "found")
    oncall.stand_down(session, case, "found", now)
    return True


def found_by_staff(session: Session, case: Case, now: datetime) -> bool:
    """Staff mark the child found (the dashboard): what FOUND does, and the caregiver, who
    did not text it, is told. False when the case cannot be found any more."""
    if not found(session, case, now):
        return False
    tell_caregiver(session, case, "case_found", now)
    return True


def tell_caregiver(
    session: Session,
    case: Case,
    template: str,
    now: datetime,
    params: dict[str, Any] | None = None,
    once: str = "",
) -> bool:
    """Text the caregiver one short message about their case, in their language. Sent once
    per case, template and `once` (a repeat adds nothing). False when the line may not text
    them (STOP, a landline, a purged case)."""
    caller = case.caller
    if case.purged_at is not None or not followups.can_take_texts(caller):
        return False
    outbox.enqueue(
        session,
        kind=CAREGIVER_TOLD,
        to=caller.phone,
        send_at=now,
        template=template,
        params={"ref": case.ref, **(params or {})},
        lang=caller.lang,
        case_id=case.id,
        caller_id=caller.id,
        dedupe_key=f"{template}:{case.id}:{once}",
        channel=Medium.SMS,
    )
    return True


def still_missing(case: Case) -> list[int]:
    """Which of a report's several children are not found yet (empty for one child)."""
    children = case.children or []
    if len(children) < 2:
        return []
    return [i for i, child in enumerate(children) if not child.get("found")]


def child_found(session: Session, case: Case, index: int, now: datetime) -> bool:
    """One child of several is found: only that child is marked, and nothing stops while
    another is still missing; the last one found ends the case as `found` does."""
    if case.status not in FOUNDABLE or index not in still_missing(case):
        return False
    children = [dict(child) for child in case.children or []]
    children[index]["found"] = True
    db.write_through(session, case, children=children)
    if all(child.get("found") for child in children):
        return found(session, case, now)
    return True
