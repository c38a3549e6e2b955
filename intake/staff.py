"""Texts from a number on the roster are staff commands, not a caregiver conversation.

ACK [ref], ACK ALL, TAKE <ref>, STATUS, HELP, and R <ref> <message> (relayed to the caregiver
from the line's number, so the worker's own number stays private). STOP takes the sender off
the chain (Twilio confirms it; the line never answers STOP) and START puts them back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.parse import keyword
from intake import cases, oncall, outbox, paging, roster, words
from intake.alertwords import STAFF, age_text, staff_words
from intake.domain import ALERT_WAITING, AlertReason, CaseStatus, Direction, OutboxKind
from intake.logs import event as log_event
from intake.models import Alert, Case, Message, OnCallPerson

if TYPE_CHECKING:
    from intake.line import Line

OPEN = cases.OPEN_STATUSES
FINISHED = cases.FINISHED_STATUSES  # an abandoned intake still has a caller
WAITING = ALERT_WAITING  # an alert that still wants someone
NAME_LIMIT = 40  # of a worker's name in a text to a caregiver (the segment budget)
# A relay of up to 1,500 characters goes whole; a longer one is cut to 1,400 (at a word),
# marked "...", and its reader told so and where the rest is: room for those words within
# Twilio's 1,600 characters. The whole text is kept (the case page, the staff command).
RELAY_LIMIT = 1500
RELAY_CUT_AT = 1400
STATUS_WORDS = {CaseStatus.ABANDONED: "left unfinished"}
PURGED_WORDS = "data retention"  # a purged case, as staff read it (intake/retention.py)

Answer = tuple[list[str], Case | None]  # the replies, and the case the command was about
Command = Callable[[Session, object, OnCallPerson, list[str], str, datetime], Answer]


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


def handle(session: Session, line: Line, person: OnCallPerson, text: str, now: datetime) -> Answer:
    """Run one staff command; returns the replies and the case it was about."""
    meaning = keyword(line.flow.vocab, text)
    if meaning == "stop":
        stop_texts(session, line, person, now)
        return [], None  # Twilio confirms opt-outs itself; never answer STOP
    if meaning == "start":
        return [start_texts(person)], None
    words = text.split()
    name = words[0].upper().strip(".!") if words else ""
    command = COMMANDS.get(name)
    if command is None:
        return [_help(unknown=name not in ("HELP", "INFO", "?"))], None
    return command(session, line, person, words[1:], text, now)


def ack_command(session, line: Line, person, args, text, now) -> Answer:
    """ACK: the newest alert sent to this person; ACK <ref>: that case; ACK ALL: all."""
    if [a.upper() for a in args] == ["ALL"]:
        return ack_all(session, line, person, now)
    if not args:
        alert = oncall.alert_to_ack(session, person)
        if alert is None:
            return [staff_words("ack_nothing")], None
        case = alert.case
    else:
        case = cases.by_ref(session, args[0])
        if case is None:
            return [staff_words("no_such_case", ref=args[0].upper())], None
    taken = take(session, line, person, case, now)
    return [take_text(line, taken)], taken.case


def take_command(session, line: Line, person, args, text, now) -> Answer:
    """TAKE <ref>: the case, even from the worker who has it (they are told)."""
    if not args:
        return [staff_words("take_which")], None
    case = cases.by_ref(session, args[0])
    if case is None:
        return [staff_words("no_such_case", ref=args[0].upper())], None
    taken = take(session, line, person, case, now, take_over=True)
    return [take_text(line, taken)], taken.case


def status_command(session, line: Line, person, args, text, now) -> Answer:
    return [status(session, person)], None


def relay_command(session, line: Line, person, args, text, now) -> Answer:
    if len(args) < 2:
        return [_help(unknown=True)], None
    return relay_to_caregiver(session, line, person, args[0], text, now)


def not_me_command(session, line: Line, person, args, text, now) -> Answer:
    """NOTME [ref]: "I did not take this case" (caller ID can be forged): the case goes
    back to the chain at once. Without a reference, the newest case this person has."""
    query = select(Case).where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
    if args:
        query = query.where(cases.ref_is(args[0]))
    case = session.scalar(query.order_by(Case.id.desc()).limit(1).with_for_update())
    if case is None:
        return [staff_words("not_me_nothing")], None
    give_back(session, line, person, case, now)
    log_event("staff.not_me", level=logging.WARNING, case=case.ref, person=person.id)
    return [staff_words("not_me_done", ref=case.ref)], case


def found_command(session, line: Line, person, args, text, now) -> Answer:
    """FOUND <ref> [name | ALL]: the child is found, as the case page's button does. For a
    case about several children still missing, the name says which (ALL: every one);
    without it the line asks, and nothing stops."""
    if not args:
        return [staff_words("found_which_case")], None
    case = cases.by_ref(session, args[0])
    if case is None:
        return [staff_words("no_such_case", ref=args[0].upper())], None
    said = " ".join(args[1:]).strip()
    missing = cases.still_missing(case)
    if len(missing) > 1 and said.upper() != "ALL":
        children = case.children or []
        index = next((i for i in missing if _same_name(children[i].get("name"), said)), None)
        if index is None:
            names = ", ".join(children[i].get("name") or f"child {i + 1}" for i in missing)
            return [staff_words("found_which_child", ref=case.ref, names=names)], case
        cases.child_found(session, case, index, now)
        name = children[index].get("name") or f"child {index + 1}"
        return [staff_words("found_one_child", ref=case.ref, name=name)], case
    if cases.found_by_staff(session, case, now):  # the caregiver is told, as on the dashboard
        return [staff_words("found_done", ref=case.ref)], case
    return [staff_words("case_over", ref=case.ref, status=status_text(case))], case


def _same_name(name: str | None, said: str) -> bool:
    """A child's name as staff typed it: the whole name or its first word, any case."""
    if not name or not said:
        return False
    name, said = name.casefold(), said.casefold()
    return said == name or said == name.split()[0]


COMMANDS: dict[str, Command] = {
    "ACK": ack_command,
    "TAKE": take_command,
    "STATUS": status_command,
    "R": relay_command,
    "REPLY": relay_command,
    "NOTME": not_me_command,
    "FOUND": found_command,
}


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


def keep_command(
    session: Session,
    person: OnCallPerson,
    case: Case | None,
    said: str,
    reply: str,
    meta: dict[str, str] | None,
    now: datetime,
    sid: str | None = None,
) -> None:
    """Keep a staff command on its case with Twilio's metadata of the request: caller ID
    can be forged, and this is how a forgery is traced (SECURITY.md)."""
    session.add(
        Message(
            person_id=person.id,
            case_id=case.id if case else None,
            direction=Direction.IN,
            twilio_sid=sid,
            body=said,
            reply_twiml=reply,
            meta=meta or None,
            created_at=now,
        )
    )


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
    if roster.reachable(holder) and holder.phone not in told:
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
    params = {"who": who, "phone": shown_phone(person.phone, line.settings.default_region)}
    return cases.tell_caregiver(session, case, "case_taken", now, params, once=str(person.id))


def shown_phone(phone: str, region: str) -> str:
    """A number as a caregiver reads it: national in the line's own country (e.g.
    (212) 555-0111), else international."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    local = phonenumbers.region_code_for_number(parsed) == region
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(parsed, style.NATIONAL if local else style.INTERNATIONAL)


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


def status(session: Session, person: OnCallPerson) -> str:
    query = (
        select(Case)
        .where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
        .order_by(Case.id)
    )
    found = list(session.scalars(query))
    refs = ", ".join(f"{c.ref} (age {age_text(c.age_months)})" for c in found[:8])
    return staff_words("staff_status", count=len(found), refs=refs)


def relay_to_caregiver(
    session: Session, line: Line, person: OnCallPerson, ref: str, text: str, now: datetime
) -> Answer:
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
    return worker if roster.reachable(worker) else None


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
    )


def leave_roster(session: Session, line: Line, who: str, now: datetime) -> OnCallPerson:
    """Take someone off the roster: their pages stop and their open cases go back to the
    chain."""
    person = roster.remove(session, who, line.settings.default_region)
    hand_back(session, line, person, now)
    return person


def hand_back(
    session: Session, line: Line, person: OnCallPerson, now: datetime, why: str = "left the roster"
) -> list[Case]:
    """A worker left the roster (or stopped texts): no more pages to them, and each of their
    open cases is unassigned and alerted to the chain again (the caregiver's texts follow
    whoever takes it)."""
    oncall.take_off_chain(session, line, person, why, now)
    query = select(Case).where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
    handed = list(session.scalars(query.order_by(Case.id).with_for_update()))
    for case in handed:
        give_back(session, line, person, case, now)
    return handed


def give_back(session: Session, line: Line, person: OnCallPerson, case: Case, now: datetime):
    """This case is no longer this person's: the chain is woken for it again."""
    case.assigned_person = None
    oncall.start_alert(session, line, case, AlertReason.HANDED_BACK, now)
    log_event("staff.handed_back", case=case.ref, person=person.id)


def stop_texts(session: Session, line: Line, person: OnCallPerson, now: datetime) -> None:
    """A roster member texted STOP: off the chain (kept on the roster), fallback told.

    Texts to them are blocked now, so their open cases go back to the chain: a caregiver
    on one of them must not be talking to nobody."""
    if person.opted_out_at is not None:
        return
    person.opted_out_at = now
    refs = _open_refs(session, person)
    hand_back(session, line, person, now, outbox.OPTED_OUT_REASON)
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
    )
    log_event("staff.stopped", person=person.id)


def start_texts(person: OnCallPerson) -> str:
    """START (or UNSTOP) from a roster member puts them back on the chain."""
    person.opted_out_at = None
    log_event("staff.started", person=person.id)
    return staff_words("staff_back")


def _open_refs(session: Session, person: OnCallPerson) -> str:
    query = select(Case.ref).where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
    return ", ".join(session.scalars(query.order_by(Case.id)))


def _help(unknown: bool) -> str:
    return staff_words("staff_help", unknown=unknown)


def ack_all(session: Session, line: Line, person: OnCallPerson, now: datetime) -> Answer:
    """ACK ALL: take, each as ACK would, every case whose alert to this person still waits."""
    waiting = [alert.case for alert in oncall.alerts_to_ack_all(session, person)]
    if not waiting:
        return [staff_words("ack_nothing")], None
    results = [take(session, line, person, case, now) for case in waiting]
    mine = list({t.case.id: t for t in results if t.outcome == "taken"}.values())
    others = [t for t in results if t.outcome != "taken"]
    return [
        staff_words(
            "ack_all_done",
            mine=", ".join(f"{t.case.ref} ({t.callback})" for t in mine),
            others=", ".join(_not_taken(t) for t in others),
        )
    ], None


def _not_taken(taken: Taken) -> str:
    """Why ACK ALL did not take a case, in a few words."""
    if taken.outcome == "over":
        return f"{taken.case.ref} ({taken.case.status})"
    return f"{taken.case.ref} (taken by {taken.who or 'someone else'})"
