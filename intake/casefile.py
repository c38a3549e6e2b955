"""What the dashboard shows of the cases: the list, and one case's file (answers,
transcript, photos, voicemails, timeline). Read only: every change goes through the
services the SMS commands use (intake/staff.py, cases.py, followups.py, notes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from markupsafe import Markup
from sqlalchemy import case as when_sql
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from intake import alertwords, audit, cases, followups, notes, paging
from intake.domain import ALERT_WAITING, CaseStatus, Direction, Medium, OutboxStatus
from intake.models import Alert, Case, CaseMedia, Message, Outbound
from intake.timefmt import clock_time, local_time

E164 = phonenumbers.PhoneNumberFormat.E164
NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
LIST_LIMIT = 200
WAITING = ALERT_WAITING  # an alert nobody has acknowledged yet
STATUS_WORDS = {
    CaseStatus.INTAKE: "intake under way",
    CaseStatus.OPEN: "open",
    CaseStatus.FOUND: "found",
    CaseStatus.CLOSED: "closed",
    CaseStatus.ABANDONED: "stopped part-way",
}


@dataclass(frozen=True)
class CaseRow:
    """One line of the cases list: no name, nothing a passer-by could read off a screen."""

    ref: str
    status: str
    is_open: bool
    age: str
    last_seen: str
    worker: str
    unacknowledged: bool
    started: str
    section: str
    opened_at: datetime
    finished_at: datetime
    test: bool = False  # the phone simulator's (intake/simulated.py): labelled "Test"


@dataclass(frozen=True)
class Section:
    """One part of the cases list, in the order a worker woken at night works it."""

    key: str
    title: str
    rows: tuple[CaseRow, ...] = ()


# The list's sections, most urgent first (see `urgency`).
SECTIONS = (
    ("waiting", "Alert not acknowledged"),
    ("open", "Open, longest first"),  # a section's name (SECTION_OF_STATUS), not a status
    ("intake", "Intake under way"),
    ("stopped", "Stopped part-way"),
    ("finished", "Found or closed, latest first"),
)
FINISHED = cases.FINISHED_STATUSES  # found or closed: nothing waits on anyone
SECTION_OF_STATUS = {
    CaseStatus.OPEN: "open",
    CaseStatus.INTAKE: "intake",
    CaseStatus.ABANDONED: "stopped",
}


@dataclass(frozen=True)
class Item:
    """One entry of a case's timeline or transcript."""

    at: datetime
    shown_at: str
    kind: str  # in | out | escalation | followup | note | status | audit | text | staff
    who: str
    text: str
    status: str = ""


def case_list(session: Session, zone: ZoneInfo, now: datetime) -> list[Section]:
    """The cases list, in sections, in the order of `urgency`: what the page shows
    first and what its refresh every few seconds shows, alike."""
    rows = sorted(case_rows(session, zone, now), key=urgency)
    return [
        Section(key, title, tuple(r for r in rows if r.section == key))
        for key, title in SECTIONS
        if any(r.section == key for r in rows)
    ]


def urgency(row: CaseRow) -> tuple:
    """The list's one ordering rule. An alert nobody has taken comes first, whatever
    else: it is why the worker is awake. Then the open cases, the longest open first: a
    child missing longest is most at risk, and a new case joins the end of its section
    instead of pushing the row under the worker's thumb down at the next refresh. Then
    intakes still under way and those the caller stopped part-way (nothing to do yet but
    watch), then the finished ones, the latest first."""
    place = [key for key, _ in SECTIONS].index(row.section)
    if row.section == "finished":
        return (place, -row.finished_at.timestamp())
    return (place, row.opened_at.timestamp())


def case_rows(session: Session, zone: ZoneInfo, now: datetime) -> list[CaseRow]:
    """Every case not finished, then the latest finished ones (up to LIST_LIMIT)."""
    finished = Case.status.in_(FINISHED)
    query = (
        select(Case)
        .options(joinedload(Case.assigned_person))
        .order_by(when_sql((finished, 1), else_=0), Case.id.desc())
        .limit(LIST_LIMIT)
    )
    found = list(session.scalars(query))
    waiting = unacknowledged(session, [c.id for c in found])
    return [_row(c, c.id in waiting and c.status not in FINISHED, zone, now) for c in found]


def _row(case: Case, waiting: bool, zone: ZoneInfo, now: datetime) -> CaseRow:
    worker = case.assigned_person.name if case.assigned_person else ""
    section = "waiting" if waiting else SECTION_OF_STATUS.get(case.status, "finished")
    return CaseRow(
        ref=case.ref,
        status=STATUS_WORDS.get(case.status, case.status),
        is_open=CaseStatus(case.status).is_open,
        age=_ages(case),
        last_seen=last_seen_text(case, zone, now),
        worker=worker,
        unacknowledged=waiting,
        started=local_time(case.created_at, zone),
        section=section,
        opened_at=case.created_at,
        finished_at=case.found_at or case.closed_at or case.created_at,
        test=case.is_test,
    )


def _ages(case: Case) -> str:
    """The age; for a report about several children, how many and each age."""
    count = alertwords.children_count(case)
    return (
        alertwords.ages_text(case)
        if count == 1
        else f"{count} children: {alertwords.ages_text(case)}"
    )


def unacknowledged(session: Session, case_ids: list[int]) -> set[int]:
    """Of these cases, those with an alert still waiting for someone to take it."""
    if not case_ids:
        return set()
    query = select(Alert.case_id).where(Alert.case_id.in_(case_ids), Alert.status.in_(WAITING))
    return set(session.scalars(query))


def last_seen_text(case: Case, zone: ZoneInfo, now: datetime) -> str:
    """How long since the child was last seen ("2 h 10 min ago"); else the caller's own
    words with the time they said them, in the line's zone ("told at 02:14 EST, about
    9pm"), since "about 9pm" or "last night" means little without it."""
    if case.last_seen_at is not None:
        return f"{since(now - case.last_seen_at)} ago"
    if not case.last_seen_when:
        return "not given yet"
    if case.last_seen_told_at is None:
        return case.last_seen_when
    return f"told at {_told_time(case.last_seen_told_at, zone, now)}, {case.last_seen_when}"


def _told_time(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'02:14 EST' the same day, '2026-12-05 02:14 EST' before it."""
    same_day = moment.astimezone(zone).date() == now.astimezone(zone).date()
    return clock_time(moment, zone) if same_day else local_time(moment, zone)


def since(gap: timedelta) -> str:
    minutes = max(0, int(gap.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def answers(
    case: Case, zone: ZoneInfo, now: datetime, region: str
) -> list[tuple[str, str | PhoneLink]]:
    """What the caller told us, in the order staff need it."""
    police = alertwords.police_text(case)
    rows = []
    if alertwords.children_count(case) > 1:
        rows.append((f"{alertwords.children_count(case)} children", alertwords.children_text(case)))
    rows += [
        ("Child's name", case.child_name or "not given yet"),
        ("Age", alertwords.age_text(case.age_months)),
        ("Last seen", last_seen_text(case, zone, now)),
        *_caller_words(case),
        ("Where", case.last_seen_where or "not given yet"),
        ("Description", case.description or "not given yet"),
        ("Police called", police),
        ("Police report", case.police_report or "none given"),
        (
            "Caller is",
            alertwords.RELATIONSHIP_WORDS.get(case.relationship_to_child or "", "not given"),
        ),
        ("Call back on", callback(case, region)),
        ("Language", alertwords.LANGUAGE_NAMES.get(case.lang, case.lang)),
        ("Came in by", "phone call" if case.channel == Medium.VOICE else "text"),
        ("Started", local_time(case.created_at, zone)),
    ]
    if case.cannot_text_at is not None:
        rows.append(("Texts", "this number cannot receive texts: call instead"))
    return rows


def _caller_words(case: Case) -> list[tuple[str, str]]:
    """The caller's own words for when, beside a time worked out from them ("2 hours
    ago"); "Last seen" already quotes words no time was read from."""
    if case.last_seen_at is None or not case.last_seen_when:
        return []
    return [("When, in the caller's words", case.last_seen_when)]


def callback(case: Case, region: str) -> PhoneLink | str:
    """The number to call the caregiver back on, ready for a tel: link."""
    return phone_link(case.callback_phone or case.caller.phone, region)


@dataclass(frozen=True)
class PhoneLink:
    """A number to call with one tap: E.164 in the tel: link, written as people read it."""

    e164: str
    shown: str

    @property
    def href(self) -> str:
        return f"tel:{self.e164}"

    def __str__(self) -> str:
        return self.shown

    def __html__(self) -> Markup:
        """How a page shows it ({{ number }} in a template): a tel: link."""
        return Markup('<a class="tel" href="%s">%s</a>') % (self.href, self.shown)


def phone_link(raw: str, region: str) -> PhoneLink | str:
    """A PhoneLink for a phone number ("(212) 555-0147" at home, "+52 55 1234 5678"
    abroad); anything else (a short code, a sender name) stays as it came."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(number):
        return raw
    local = phonenumbers.region_code_for_number(number) == region
    shown = phonenumbers.format_number(number, NATIONAL if local else INTERNATIONAL)
    return PhoneLink(phonenumbers.format_number(number, E164), shown)


def photos(case: Case) -> list[CaseMedia]:
    return [m for m in case.media if m.content_type.lower().startswith("image/")]


def voicemails(case: Case) -> list[CaseMedia]:
    return [m for m in case.media if m.content_type.lower().startswith("audio/")]


def transcript(session: Session, case: Case, zone: ZoneInfo) -> list[Item]:
    """Every text in and out on this case: the conversation, and what the line sent the
    caregiver on its own (follow-ups, texts from the worker)."""
    items = [_message(m, zone) for m in _messages(session, case)]
    items += [_outbound(row, zone) for row in _outbox(session, case) if row.caller_id is not None]
    return sorted(items, key=lambda item: item.at)


def _messages(session: Session, case: Case) -> list[Message]:
    query = select(Message).where(Message.case_id == case.id, Message.person_id.is_(None))
    return list(session.scalars(query.order_by(Message.id)))


def _message(message: Message, zone: ZoneInfo) -> Item:
    who = "Caller" if message.direction == Direction.IN else "Line"
    text = message.body or ("(a photo)" if message.num_media else "")
    return Item(
        message.created_at, local_time(message.created_at, zone), message.direction, who, text
    )


def _outbox(session: Session, case: Case) -> list[Outbound]:
    return list(session.scalars(select(Outbound).where(Outbound.case_id == case.id)))


def _outbound(row: Outbound, zone: ZoneInfo) -> Item:
    at = row.sent_at or row.send_at
    text = row.body or f"({_template_words(row)}: written when it is sent)"
    return Item(at, local_time(at, zone), "out", f"Line ({row.kind})", text, _delivery(row))


def _template_words(row: Outbound) -> str:
    """'follow-up 3' for followup_3: what a text not yet written will be."""
    name = (row.template or row.kind).split(":")[-1]
    return name.replace("followup_", "follow-up ").replace("_", " ")


def _delivery(row: Outbound) -> str:
    if row.status == OutboxStatus.CANCELLED:
        return f"cancelled ({row.last_error or 'no reason'})"
    if row.status == OutboxStatus.FAILED:
        return f"failed ({row.last_error or 'no reason'})"
    return row.delivery_status or row.status


def timeline(session: Session, case: Case, zone: ZoneInfo) -> list[Item]:
    """Alerts, pages, acknowledgements, staff texts, follow-ups, notes and status changes."""
    items = _status_items(case)
    items += _escalation_items(session, case)
    for row in _outbox(session, case):
        if row.caller_id is None and row.kind not in paging.ALERT_KINDS:
            items.append(_item(row.sent_at or row.send_at, "text", "Line", _staff_text(row)))
            items[-1] = _with_status(items[-1], _delivery(row))
    staff_texts = select(Message).where(Message.case_id == case.id, Message.person_id.is_not(None))
    for message in session.scalars(staff_texts):
        items.append(_item(message.created_at, "staff", "Worker's text", message.body))
    for note in notes.of_case(session, case):
        items.append(_item(note.created_at, "note", note.staff.name, note.body))
    for entry in audit.newest(session, case=case):
        if entry.action != "case_viewed":
            who = entry.staff.name if entry.staff else "?"
            items.append(_item(entry.created_at, "audit", who, _action_words(entry)))
    items = [_dated(item, zone) for item in items]
    return sorted(items, key=lambda item: item.at)


def _status_items(case: Case) -> list[Item]:
    marks = [
        (case.created_at, "Case opened"),
        (case.completed_at, "Intake complete"),
        (case.found_at, "Child found"),
        (case.closed_at, "Case closed"),
        (case.cannot_text_at, "Twilio: the caller's number cannot receive texts"),
    ]
    return [_item(at, "status", "Line", text) for at, text in marks if at is not None]


def _escalation_items(session: Session, case: Case) -> list[Item]:
    """Each step the line took to wake someone ("texted Dana", "called Dana, no answer",
    "Dana took it"), from the escalation log; staff by name, never by number."""
    items = []
    for entry in audit.escalation_log(session, case):
        took = entry.action == "took" and entry.person is not None
        who = entry.person.name if took else "Line"
        items.append(_item(entry.created_at, "escalation", who, audit.escalation_words(entry)))
    return items


def _staff_text(row: Outbound) -> str:
    return f"To staff ({row.kind}): " + (row.body or row.template or "")


def _action_words(entry) -> str:
    words = ACTION_WORDS.get(entry.action, entry.action)
    return f"{words} ({entry.detail})" if entry.detail else words


ACTION_WORDS = {
    "take": "took the case on the dashboard",
    "note": "added a note",
    "text_caregiver": "texted the caregiver",
    "found": "marked the child found",
    "close": "closed the case",
    "pause_followups": "paused the follow-ups",
    "resume_followups": "resumed the follow-ups",
    "media_viewed": "opened a photo or voicemail",
}


def _item(at: datetime, kind: str, who: str, text: str) -> Item:
    return Item(at, "", kind, who, text)


def _with_status(item: Item, status: str) -> Item:
    return Item(item.at, item.shown_at, item.kind, item.who, item.text, status)


def _dated(item: Item, zone: ZoneInfo) -> Item:
    return Item(item.at, local_time(item.at, zone), item.kind, item.who, item.text, item.status)


def followup_state(session: Session, case: Case, now: datetime) -> str:
    """paused | running | none: whether staff can pause or resume follow-ups now."""
    if followups.paused(session, case, now):
        return "paused"
    return "running" if followups.pending(session, case) else "none"
