"""Texts from a number on the roster are staff commands, not a caregiver conversation.

ACK [ref], ACK ALL, TAKE <ref>, STATUS, HELP, and R <ref> <message> (relayed to the caregiver
from the line's number, so the worker's own number stays private). What a command does to a
case lives beside it: taking one in assignment.py, relays in relays.py. STOP takes the sender off
the chain (Twilio confirms it; the line never answers STOP) and START puts them back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.parse import keyword
from intake.cases import lifecycle as cases
from intake.core.models import Case, Message, OnCallPerson
from intake.domain.enums import Direction
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.oncall import roster
from intake.oncall.alertwords import age_text, staff_words
from intake.staff import optouts
from intake.staff.assignment import Taken, status_text, take, take_text

# conversations.py, the dashboard and the alert call still find these here
from intake.staff.relays import relay_to_caregiver, relay_to_worker, text_caregiver, worker_of  # noqa: F401

if TYPE_CHECKING:
    from intake.core.line import Line

OPEN = cases.OPEN_STATUSES

Answer = tuple[list[str], Case | None]  # the replies, and the case the command was about


@dataclass(frozen=True)
class Said:
    """One staff command as texted: who sent it, its words after the command's name
    (`args`), the whole text, and the transaction and line it runs in."""

    session: Session
    line: Line
    person: OnCallPerson
    args: list[str]
    text: str
    now: datetime


Command = Callable[[Said], Answer]


def handle(session: Session, line: Line, person: OnCallPerson, text: str, now: datetime) -> Answer:
    """Run one staff command; returns the replies and the case it was about."""
    meaning = keyword(line.flow.vocab, text)
    if meaning == "stop":
        optouts.opt_out(session, line, person.phone, now)
        return [], None  # Twilio confirms opt-outs itself; never answer STOP
    if meaning == "start":
        return [start_texts(person)], None
    words = text.split()
    name = words[0].upper().strip(".!") if words else ""
    command = COMMANDS.get(name)
    if command is None:
        return [_help(unknown=name not in ("HELP", "INFO", "?"))], None
    return command(Said(session, line, person, words[1:], text, now))


def ack_command(said: Said) -> Answer:
    """ACK: the newest alert sent to this person; ACK <ref>: that case; ACK ALL: all."""
    if [a.upper() for a in said.args] == ["ALL"]:
        return ack_all(said.session, said.line, said.person, said.now)
    if not said.args:
        alert = oncall.alert_to_ack(said.session, said.person)
        if alert is None:
            return [staff_words("ack_nothing")], None
        case = alert.case
    else:
        case = cases.by_ref(said.session, said.args[0])
        if case is None:
            return [staff_words("no_such_case", ref=said.args[0].upper())], None
    taken = take(said.session, said.line, said.person, case, said.now)
    return [take_text(said.line, taken)], taken.case


def take_command(said: Said) -> Answer:
    """TAKE <ref>: the case, even from the worker who has it (they are told)."""
    if not said.args:
        return [staff_words("take_which")], None
    case = cases.by_ref(said.session, said.args[0])
    if case is None:
        return [staff_words("no_such_case", ref=said.args[0].upper())], None
    taken = take(said.session, said.line, said.person, case, said.now, take_over=True)
    return [take_text(said.line, taken)], taken.case


def status_command(said: Said) -> Answer:
    return [status(said.session, said.person)], None


def relay_command(said: Said) -> Answer:
    if len(said.args) < 2:
        return [_help(unknown=True)], None
    return relay_to_caregiver(said.session, said.person, said.args[0], said.text, said.now)


def not_me_command(said: Said) -> Answer:
    """NOTME [ref]: "I did not take this case" (caller ID can be forged): the case goes
    back to the chain at once. Without a reference, the newest case this person has."""
    query = select(Case).where(Case.assigned_person_id == said.person.id, Case.status.in_(OPEN))
    if said.args:
        query = query.where(cases.ref_is(said.args[0]))
    case = said.session.scalar(query.order_by(Case.id.desc()).limit(1).with_for_update())
    if case is None:
        return [staff_words("not_me_nothing")], None
    optouts.give_back(said.session, said.line, said.person, case, said.now)
    log_event("staff.not_me", level=logging.WARNING, case=case.ref, person=said.person.id)
    return [staff_words("not_me_done", ref=case.ref)], case


def found_command(said: Said) -> Answer:
    """FOUND <ref> [name | ALL]: the child is found, as the case page's button does. For a
    case about several children still missing, the name says which (ALL: every one);
    without it the line asks, and nothing stops."""
    if not said.args:
        return [staff_words("found_which_case")], None
    case = cases.by_ref(said.session, said.args[0])
    if case is None:
        return [staff_words("no_such_case", ref=said.args[0].upper())], None
    named = " ".join(said.args[1:]).strip()
    missing = cases.still_missing(case)
    if len(missing) > 1 and named.upper() != "ALL":
        children = case.children or []
        index = next((i for i in missing if _same_name(children[i].get("name"), named)), None)
        if index is None:
            names = ", ".join(children[i].get("name") or f"child {i + 1}" for i in missing)
            return [staff_words("found_which_child", ref=case.ref, names=names)], case
        cases.child_found(said.session, case, index, said.now)
        name = children[index].get("name") or f"child {index + 1}"
        return [staff_words("found_one_child", ref=case.ref, name=name)], case
    # the caregiver is told, as on the dashboard
    if cases.found_by_staff(said.session, case, said.now):
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


def status(session: Session, person: OnCallPerson) -> str:
    query = (
        select(Case)
        .where(Case.assigned_person_id == person.id, Case.status.in_(OPEN))
        .order_by(Case.id)
    )
    found = list(session.scalars(query))
    refs = ", ".join(f"{c.ref} (age {age_text(c.age_months)})" for c in found[:8])
    return staff_words("staff_status", count=len(found), refs=refs)


def leave_roster(session: Session, line: Line, who: str, now: datetime) -> OnCallPerson:
    """Take someone off the roster: their pages stop and their open cases go back to the
    chain."""
    person = roster.remove(session, who, line.settings.default_region)
    optouts.hand_back(session, line, person, now)
    return person


def start_texts(person: OnCallPerson) -> str:
    """START (or UNSTOP) from a roster member puts them back on the chain."""
    person.opted_out_at = None
    log_event("staff.started", person=person.id)
    return staff_words("staff_back")


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
