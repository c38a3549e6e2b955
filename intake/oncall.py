"""Alerts and escalation: wake the first person on call; if they sleep, the next.

An alert keeps where it stands in its row (chain, step, round, next_check_at), and every
page is an outbox row, so a restart in the middle of an escalation simply continues.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake import outbox, roster, signing, words
from intake.logs import event as log_event
from intake.models import Alert, Caller, Case, OnCallPerson, Outbound, Page, utcnow
from intake.timefmt import clock_time

ALERT_KINDS = ("alert", "alert_call")
STAFF = "staff"  # templates/staff/en: staff read English
VOICE_ALERT_PATH = "/twilio/voice/alert"


def start_alert(session: Session, line, case: Case, reason: str, now: datetime) -> Alert | None:
    """Wake someone for this case, unless an alert for it is already under way."""
    running = session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.status == "open"))
    if running is not None:
        return None
    people = roster.chain(session, now, line.settings.zone)
    if case.assigned_person is not None and case.assigned_person.active:
        people = [case.assigned_person] + [p for p in people if p.id != case.assigned_person_id]
    alert = Alert(case=case, reason=reason, chain=[p.id for p in people], status="open")
    session.add(alert)
    session.flush()
    if not people:
        log_event("oncall.empty_chain", level=logging.CRITICAL, case=case.ref, reason=reason)
        page_fallback(session, line, alert, now, "empty")
        alert.status, alert.next_check_at = "exhausted", None
        return alert
    page(session, line, alert, people[0], now)
    alert.next_check_at = now + line.settings.escalation_wait
    log_event("oncall.alert", case=case.ref, reason=reason, chain=len(people))
    return alert


def check_due(line, now: datetime | None = None) -> int:
    """Escalate every open alert whose wait is over; returns how many moved on."""
    now = now or utcnow()
    with line.db.transaction() as session:
        query = (
            select(Alert)
            .where(Alert.status == "open", Alert.next_check_at <= now)
            .order_by(Alert.next_check_at)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        due = list(session.scalars(query))
        for alert in due:
            escalate(session, line, alert, now)
        return len(due)


def alert_stalled(line, now: datetime | None = None) -> int:
    """Wake someone for intakes the caller stopped answering partway (no alert yet)."""
    now = now or utcnow()
    cutoff = now - line.settings.stalled_after
    with line.db.transaction() as session:
        query = (
            select(Case)
            .join(Caller, Caller.id == Case.caller_id)
            .where(
                Case.status == "intake",
                Caller.updated_at <= cutoff,
                ~select(Alert.id).where(Alert.case_id == Case.id).exists(),
            )
            .limit(20)
            .with_for_update(of=Case, skip_locked=True)
        )
        stalled = list(session.scalars(query))
        for case in stalled:
            start_alert(session, line, case, "stalled", now)
        return len(stalled)


def escalate(session: Session, line, alert: Alert, now: datetime) -> None:
    """Nobody acknowledged: the next in the chain; after the last round, everyone."""
    alert.step += 1
    if alert.step >= len(alert.chain):
        alert.step, alert.round = 0, alert.round + 1
    if alert.round >= line.settings.escalation_rounds:
        alert_everyone(session, line, alert, now)
        return
    person = session.get(OnCallPerson, alert.chain[alert.step])
    if person is None or not person.active:  # taken off the roster meanwhile: skip them
        alert.next_check_at = now
        return
    page(session, line, alert, person, now)
    alert.next_check_at = now + line.settings.escalation_wait
    log_event("oncall.escalated", case=alert.case.ref, step=alert.step, round=alert.round)


def alert_everyone(session: Session, line, alert: Alert, now: datetime) -> None:
    log_event("oncall.exhausted", level=logging.ERROR, case=alert.case.ref)
    for person in roster.people(session):
        page(session, line, alert, person, now, template="oncall_alert_all")
    page_fallback(session, line, alert, now, "all")
    alert.status, alert.next_check_at = "exhausted", None


def page(
    session: Session,
    line,
    alert: Alert,
    person: OnCallPerson,
    now: datetime,
    template: str = "oncall_alert",
) -> None:
    """Text and/or call one person about an alert, the way they asked to be reached."""
    if person.reach_by in ("sms", "both"):
        _page_sms(session, line, alert, person.phone, person.id, now, template)
    if person.reach_by in ("call", "both"):
        _page_call(session, line, alert, person, now)


def page_fallback(session: Session, line, alert: Alert, now: datetime, why: str) -> None:
    number = line.settings.fallback_alert_number
    if number is None:
        log_event("oncall.no_fallback", level=logging.CRITICAL, case=alert.case.ref, why=why)
        return
    template = "oncall_alert_empty" if why == "empty" else "oncall_alert_fallback"
    _page_sms(session, line, alert, number, None, now, template)


def _page_sms(session, line, alert, phone, person_id, now, template) -> None:
    row = outbox.enqueue(
        session,
        kind="alert",
        to=phone,
        send_at=now,
        template=f"{STAFF}:{template}",
        params=alert_params(line, alert, now),
        case_id=alert.case_id,
    )
    session.flush()
    session.add(
        Page(
            alert=alert,
            person_id=person_id,
            outbox_id=row.id,
            to_phone=phone,
            channel="sms",
            created_at=now,
        )
    )


def _page_call(session, line, alert, person, now) -> None:
    page_row = Page(
        alert=alert, person_id=person.id, to_phone=person.phone, channel="call", created_at=now
    )
    session.add(page_row)
    session.flush()
    url = signing.public_url(line.settings.public_base_url, VOICE_ALERT_PATH, f"page={page_row.id}")
    row = outbox.enqueue(
        session,
        kind="alert_call",
        channel="call",
        to=person.phone,
        send_at=now,
        body=f"call about case {alert.case.ref}",
        params={"call_url": url},
        case_id=alert.case_id,
    )
    session.flush()
    page_row.outbox_id = row.id


LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
RELATIONSHIP_WORDS = {
    "parent": "parent or family",
    "foster": "foster parent",
    "caseworker": "agency staff",
    "other": "other",
}
POLICE_WORDS = {True: "yes", False: "not yet", None: "not asked yet"}
AREA_LIMIT, WHEN_LIMIT = 34, 22  # keep an alert at two SMS segments with a 40-char org name


def alert_params(line, alert: Alert, now: datetime) -> dict[str, str]:
    """What an alert says: what to know before calling, little personal data unless
    INTAKE_ALERT_DETAIL=full."""
    case = alert.case
    params = {
        "ref": case.ref,
        "reason": alert.reason,
        "age": age_text(case.age_months),
        "area": _short(case.last_seen_where, AREA_LIMIT) or "not given yet",
        "when": when_text(case, line.settings.zone),
        "lang": LANGUAGE_NAMES.get(case.lang, case.lang),
        "relationship": RELATIONSHIP_WORDS.get(case.relationship_to_child or "", "not given yet"),
        "police": POLICE_WORDS.get(case.police_called, "not asked yet"),
        "link": f"{line.settings.public_base_url}/cases/{case.ref}",
        "name": "",
        "description": "",
    }
    if line.settings.alert_detail == "full":
        params["name"] = _short(case.child_name, 60)
        params["description"] = _short(case.description, 120)
    return params


def age_text(months: int | None) -> str:
    """The child's age as staff read it: months under two, else years."""
    if months is None:
        return "not given yet"
    return f"{months} months" if months < 24 else f"{months // 12}"


def when_text(case: Case, zone: ZoneInfo) -> str:
    """When the child was last seen: 'about 21:40 EST' when known, else the caller's words."""
    if case.last_seen_at is not None:
        return f"about {clock_time(case.last_seen_at, zone)}"
    return _short(case.last_seen_when, WHEN_LIMIT) or "time not given yet"


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def acknowledge(
    session: Session, line, alert: Alert, person: OnCallPerson, now: datetime
) -> set[str]:
    """Stop the escalation, give the case to this person, tell the others it is taken;
    returns the numbers told."""
    alert.acked_by, alert.acked_at = person, now
    alert.case.assigned_person = person
    others = {p.to_phone for p in _pages(session, alert) if p.person_id != person.id}
    params = {"ref": alert.case.ref, "who": person.name}
    _end(
        session,
        alert,
        "acked",
        f"acknowledged by {person.name}",
        others,
        "oncall_taken",
        params,
        now,
    )
    log_event("oncall.acknowledged", case=alert.case.ref, person=person.id)
    return others


def stand_down(session: Session, case: Case, why: str, now: datetime) -> None:
    """The child is found or the case closed: stop waking people and tell those woken
    (and the worker who has the case)."""
    alerts = session.scalars(
        select(Alert)
        .where(Alert.case_id == case.id, Alert.status.in_(("open", "exhausted")))
        .with_for_update()
    ).all()
    worker = case.assigned_person
    told = {worker.phone} if roster.reachable(worker) else set()
    for alert in alerts:
        paged = {p.to_phone for p in _pages(session, alert)} - told
        _end(
            session,
            alert,
            "stood_down",
            why,
            paged,
            "stood_down",
            {"ref": case.ref, "why": why},
            now,
        )
        told |= paged
    if roster.reachable(worker):
        tell(session, {worker.phone}, "stood_down", {"ref": case.ref, "why": why}, case, now)
    if alerts:
        log_event("oncall.stood_down", case=case.ref, why=why)


def _end(
    session: Session,
    alert: Alert,
    status: str,
    reason: str,
    phones: set[str],
    template: str,
    params: dict[str, str],
    now: datetime,
) -> None:
    """Close an alert: no more checks, its unsent pages cancelled, these numbers told."""
    alert.status, alert.next_check_at = status, None
    page_ids = select(Page.outbox_id).where(Page.alert_id == alert.id)
    session.execute(
        update(Outbound)
        .where(Outbound.id.in_(page_ids), Outbound.status == "pending")
        .values(status="cancelled", last_error=reason)
        .execution_options(synchronize_session=False)
    )
    tell(session, phones, template, params, alert.case, now)


def tell(
    session: Session,
    phones: set[str],
    template: str,
    params: dict[str, str],
    case: Case,
    now: datetime,
) -> None:
    """Text these numbers a staff template about a case."""
    for phone in sorted(phones):
        outbox.enqueue(
            session,
            kind="alert_taken",
            to=phone,
            send_at=now,
            template=f"{STAFF}:{template}",
            params=params,
            case_id=case.id,
        )


def _pages(session: Session, alert: Alert) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.alert_id == alert.id)))


def page_failed(session: Session, row: Outbound, now: datetime) -> None:
    """A page could not be delivered: escalate at once instead of waiting."""
    if row.kind not in ALERT_KINDS:
        return
    page_row = session.scalar(select(Page).where(Page.outbox_id == row.id))
    if page_row is None:
        return
    alert = session.get(Alert, page_row.alert_id, with_for_update=True)
    current = alert.chain[alert.step] if alert and alert.chain else None
    if alert is not None and alert.status == "open" and page_row.person_id == current:
        alert.next_check_at = now
        log_event("oncall.page_failed", case=alert.case.ref, person=page_row.person_id)


def alert_to_ack(session: Session, person: OnCallPerson) -> Alert | None:
    """What a bare ACK means: the newest alert sent to this person that still waits for
    someone; failing that, the newest sent to them (to say who has it or that it is over)."""
    paged = select(Alert).join(Page, Page.alert_id == Alert.id).where(Page.person_id == person.id)
    newest = paged.order_by(Page.id.desc()).limit(1)
    waiting = newest.where(Alert.status.in_(("open", "exhausted")))
    return session.scalar(waiting) or session.scalar(newest)


def take_off_chain(session: Session, line, person: OnCallPerson, why: str, now: datetime) -> None:
    """This person can no longer be paged: their queued pages are cancelled and every
    alert waiting on them moves on at once."""
    outbox.cancel_pending(session, why, to=person.phone, kinds=ALERT_KINDS)
    query = select(Alert).where(Alert.status == "open").order_by(Alert.id).with_for_update()
    for alert in session.scalars(query):
        if person.id in alert.chain:
            _drop_from_chain(line, alert, person.id, now)
    log_event("oncall.off_chain", person=person.id, why=why)


def _drop_from_chain(line, alert: Alert, person_id: int, now: datetime) -> None:
    """Take one person out of an alert's chain; if it was their turn, move on now."""
    index, rest = alert.chain.index(person_id), [p for p in alert.chain if p != person_id]
    if not rest:  # nobody left to try: the next step is everyone and the fallback number
        alert.step, alert.round = len(alert.chain) - 1, line.settings.escalation_rounds - 1
        alert.next_check_at = now
        return
    if index == alert.step:
        alert.next_check_at = now
    alert.chain = rest
    if index <= alert.step:
        alert.step -= 1  # escalate's next step lands on the one after them


def staff_words(template: str, **params) -> str:
    return words.render(template, "en", channel=STAFF, **params)


def move_alerts(session: Session, old: Case, new: Case) -> None:
    """An alert still waking someone for `old` now speaks of `new` (RESTART)."""
    session.execute(
        update(Alert)
        .where(Alert.case_id == old.id, Alert.status.in_(("open", "exhausted")))
        .values(case_id=new.id)
        .execution_options(synchronize_session=False)
    )


def reachable(session: Session, line, now: datetime) -> bool:
    """A page sent now would reach someone: a person on call now, or the fallback number."""
    if line.settings.fallback_alert_number is not None:
        return True
    return bool(roster.chain(session, now, line.settings.zone))
