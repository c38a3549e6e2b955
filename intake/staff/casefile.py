"""What the dashboard shows of one case: its file (answers,
transcript, photos, voicemails, timeline). Read only: every change goes through the
services the SMS commands use (intake/staff/commands.py, cases.py, followups.py, notes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.cases import followups
from intake.core import audit
from intake.core.models import Case, CaseMedia, Message, Outbound
from intake.domain.enums import Direction, Medium, OutboxStatus
from intake.infra import phones
from intake.infra.timefmt import local_time
from intake.oncall import alertwords, paging
from intake.staff import notes
from intake.staff.caselist import last_seen_text


@dataclass(frozen=True)
class Item:
    """One entry of a case's timeline or transcript."""

    at: datetime
    shown_at: str
    kind: str  # in | out | escalation | followup | note | status | audit | text | staff
    who: str
    text: str
    status: str = ""


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
    number = phones.shown(raw, region)
    return raw if number is None else PhoneLink(number.e164, number.shown)


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
