"""Alerts and escalation: wake the first person on call; if they sleep, the next.

An alert keeps where it stands in its row (chain, step, round, next_check_at), and every
page is an outbox row, so a restart in the middle of an escalation simply continues.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from intake import domain, outbox, roster, signing, webhooks, words
from intake.domain import (
    ALERT_WAITING,
    AlertReason,
    AlertStatus,
    CaseStatus,
    Medium,
    OutboxKind,
    OutboxStatus,
    ReachBy,
)
from intake.logs import event as log_event
from intake.models import Alert, Caller, Case, OnCallPerson, Outbound, Page
from intake.timefmt import clock_time

if TYPE_CHECKING:
    from intake.line import Line

ALERT_KINDS = domain.ALERT_KINDS
STAFF = "staff"  # templates/staff/en: staff read English
VOICE_ALERT_PATH = webhooks.VOICE_ALERT_PATH
PAGE_HOLD = timedelta(seconds=15)  # the longest a page waits to be combined with others
MEMBERS = "members"  # a page text's params: the alerts it carries, each with its own words
DIGEST_LISTS = 8  # cases named in one combined text; ACK ALL takes them all anyway
URGENT = ("oncall_alert_all", "oncall_alert_empty", "oncall_alert_fallback")


def start_alert(
    session: Session, line: Line, case: Case, reason: str, now: datetime
) -> Alert | None:
    """Wake someone for this case, unless an alert for it is already under way.

    With nobody on call the fallback number is told and the alert waits (open, with no
    next check) until someone comes on call: see wake_waiting.
    """
    running = session.scalar(
        select(Alert).where(Alert.case_id == case.id, Alert.status == AlertStatus.OPEN)
    )
    if running is not None:
        return None
    alert = Alert(case=case, reason=reason, status=AlertStatus.OPEN)
    first = _plan(line, alert, roster.chain(session, now, line.settings.zone), now)
    session.add(alert)
    session.flush()  # one INSERT with the whole plan; its id goes into the page text
    if first is not None:
        page(session, line, alert, first, now)
        log_event("oncall.alert", case=case.ref, reason=reason, chain=len(alert.chain))
    else:
        log_event("oncall.empty_chain", level=logging.CRITICAL, case=case.ref, reason=reason)
        page_fallback(session, line, alert, now, "empty")
    return alert


def _begin(session: Session, line: Line, alert: Alert, people: list[OnCallPerson], now) -> bool:
    """Page the first of these people (the case's worker first); False if there is nobody."""
    first = _plan(line, alert, people, now)
    if first is None:
        return False
    page(session, line, alert, first, now)
    return True


def _plan(line: Line, alert: Alert, people: list[OnCallPerson], now) -> OnCallPerson | None:
    """Set the alert's chain (the case's worker first) and its next check; the first
    person to page, or None when there is nobody (the alert waits for someone)."""
    worker = alert.case.assigned_person
    if worker is not None and roster.reachable(worker):
        people = [worker] + [p for p in people if p.id != worker.id]
    alert.chain, alert.step, alert.round = [p.id for p in people], 0, 0
    alert.next_check_at = now + line.settings.escalation_wait if people else None
    return people[0] if people else None


def reachable(session: Session, line: Line, now: datetime) -> bool:
    """A page sent now would reach someone: a person on call, or the fallback number."""
    if line.settings.fallback_alert_number is not None:
        return True
    return bool(roster.chain(session, now, line.settings.zone))


def check_due(line: Line, now: datetime) -> int:
    """Escalate open alerts whose wait is over, start waiting ones; returns how many moved."""
    with line.db.transaction() as session:
        due = list(session.scalars(_open_alerts(Alert.next_check_at <= now)))
        for alert in due:
            escalate(session, line, alert, now)
        return len(due) + wake_waiting(session, line, now)


def wake_waiting(session: Session, line: Line, now: datetime) -> int:
    """Alerts that found nobody on call: page the first person as soon as there is one.

    A waiting alert is open with no next check. A normal tick costs one lookup in the
    partial index on open alerts' next_check_at; the roster is read only if some wait, and
    they are locked only once someone is on call.
    """
    waiting = Alert.next_check_at.is_(None)
    if (
        session.scalar(select(Alert.id).where(Alert.status == AlertStatus.OPEN, waiting).limit(1))
        is None
    ):
        return 0
    people = roster.chain(session, now, line.settings.zone)
    if not people:
        return 0
    alerts = session.scalars(_open_alerts(waiting)).all()
    started = [alert for alert in alerts if _begin(session, line, alert, people, now)]
    for alert in started:
        log_event("oncall.alert", case=alert.case.ref, reason=alert.reason, chain=len(people))
    return len(started)


def _open_alerts(condition):
    """Open alerts meeting a condition, oldest first, locked, skipping those locked."""
    return (
        select(Alert)
        .where(Alert.status == AlertStatus.OPEN, condition)
        .order_by(Alert.next_check_at, Alert.id)
        .limit(100)
        .with_for_update(skip_locked=True)
    )


def alert_stalled(line: Line, now: datetime) -> int:
    """Wake someone for intakes left partway (no alert yet) that show a child is missing.

    The signs: the child's name or age was given, or the caller said a child is missing
    (Case.reported_missing). HELP starts its own alert. Anything else is for the dashboard.
    """
    cutoff = now - line.settings.stalled_after
    with line.db.transaction() as session:
        query = (
            select(Case)
            .join(Caller, Caller.id == Case.caller_id)
            .where(
                Case.status == CaseStatus.INTAKE,
                Caller.updated_at <= cutoff,
                or_(
                    Case.child_name.is_not(None),
                    Case.age_months.is_not(None),
                    Case.reported_missing,
                ),
                ~select(Alert.id).where(Alert.case_id == Case.id).exists(),
            )
            .limit(20)
            .with_for_update(of=Case, skip_locked=True)
        )
        stalled = list(session.scalars(query))
        for case in stalled:
            start_alert(session, line, case, AlertReason.STALLED, now)
        return len(stalled)


def mark_abandoned(line: Line, now: datetime) -> int:
    """Intakes whose caller stopped answering INTAKE_ABANDONED_AFTER_MINUTES ago are
    marked "abandoned" (the dashboard lists them apart; retention purges them in time);
    see `abandon` for who is told. Returns how many were marked."""
    cutoff = now - line.settings.abandoned_after
    with line.db.transaction() as session:
        query = (
            select(Case)
            .join(Caller, Caller.id == Case.caller_id)
            .where(Case.status == CaseStatus.INTAKE, Caller.updated_at <= cutoff)
            .order_by(Case.id)
            .limit(20)
            .with_for_update(of=Case, skip_locked=True)
        )
        left = list(session.scalars(query))
        for case in left:
            abandon(session, line, case, now)
        return len(left)


def abandon(session: Session, line: Line, case: Case, now: datetime) -> None:
    """Mark one intake abandoned and tell, in one sentence, what the caller gave: the
    worker who has the case; else on call, by an alert (unless one still pages for it).
    An intake where nothing was given is for the dashboard only."""
    case.status = CaseStatus.ABANDONED
    log_event("oncall.abandoned", case=case.ref)
    worker = case.assigned_person
    params = {"ref": case.ref, "story": story(line, case, AlertReason.ABANDONED)}
    if roster.reachable(worker):
        tell(session, {worker.phone}, "worker_abandoned", params, case, now)
    elif gave_anything(case):
        start_alert(session, line, case, AlertReason.ABANDONED, now)


def gave_anything(case: Case) -> bool:
    """Whether the caller said anything of the child (or that one is missing)."""
    answers = (
        case.child_name,
        case.age_months,
        case.last_seen_when,
        case.last_seen_where,
        case.description,
        case.police_called,
        case.relationship_to_child,
    )
    return case.reported_missing or any(a is not None for a in answers)


def escalate(session: Session, line: Line, alert: Alert, now: datetime) -> None:
    """Nobody acknowledged: the next in the chain who can still be paged; then everyone.

    People removed or opted out meanwhile are skipped; a chain with nobody left starts
    afresh from who is on call now, or waits for someone.
    """
    for _ in alert.chain:
        alert.step += 1
        if alert.step >= len(alert.chain):
            alert.step, alert.round = 0, alert.round + 1
        if alert.round >= line.settings.escalation_rounds:
            alert_everyone(session, line, alert, now)
            return
        person = session.get(OnCallPerson, alert.chain[alert.step])
        if person is not None and roster.reachable(person):
            page(session, line, alert, person, now)
            alert.next_check_at = now + line.settings.escalation_wait
            log_event("oncall.escalated", case=alert.case.ref, step=alert.step, round=alert.round)
            return
    log_event("oncall.chain_gone", level=logging.ERROR, case=alert.case.ref)
    if not _begin(session, line, alert, roster.chain(session, now, line.settings.zone), now):
        page_fallback(session, line, alert, now, "empty")


def alert_everyone(session: Session, line: Line, alert: Alert, now: datetime) -> None:
    """The last round is over: page everyone who can be paged, and the fallback; then stop."""
    log_event("oncall.exhausted", level=logging.ERROR, case=alert.case.ref)
    for person in roster.people(session):
        if roster.reachable(person):
            page(session, line, alert, person, now, template="oncall_alert_all")
    page_fallback(session, line, alert, now, "all")
    alert.status, alert.next_check_at = AlertStatus.EXHAUSTED, None


def page(
    session: Session,
    line: Line,
    alert: Alert,
    person: OnCallPerson,
    now: datetime,
    template: str = "oncall_alert",
) -> None:
    """Text and/or call one person about an alert, the way they asked to be reached.

    Someone called within INTAKE_PAGE_WINDOW is not called again: the alert comes by
    text (combined with their other pages) instead.
    """
    wants_call = ReachBy(person.reach_by).by_call
    call = wants_call and not _paged_lately(session, line, person.phone, Medium.VOICE, now)
    if ReachBy(person.reach_by).by_text or not call:
        _page_sms(session, line, alert, person.phone, person.id, now, template)
    if call:
        _page_call(session, line, alert, person, now)
    elif wants_call:
        log_event("oncall.call_held", case=alert.case.ref, person=person.id)


def page_fallback(session: Session, line: Line, alert: Alert, now: datetime, why: str) -> None:
    """Tell the fallback number: nobody is on call ("empty"), or nobody took the case."""
    number = line.settings.fallback_alert_number
    if number is None:
        log_event("oncall.no_fallback", level=logging.CRITICAL, case=alert.case.ref, why=why)
        return
    template = "oncall_alert_empty" if why == "empty" else "oncall_alert_fallback"
    _page_sms(session, line, alert, number, None, now, template)


def _paged_lately(session: Session, line: Line, phone: str, channel: str, now: datetime) -> bool:
    """Whether this number had a page by this channel within INTAKE_PAGE_WINDOW."""
    query = select(Page.id).where(
        Page.to_phone == phone,
        Page.created_at > now - line.settings.page_window,
        Page.channel == channel,
    )
    return session.scalar(query.limit(1)) is not None


def _page_sms(session, line: Line, alert, phone, person_id, now, template) -> None:
    """Text one number about an alert, combined with its other pages close in time.

    Combining lives on the outbox: a page joins a text to the same number that is not
    sent yet and is due within PAGE_HOLD; failing that, the first page in a window goes
    at once and a later one is held PAGE_HOLD for others to join. Every page keeps its
    own alert_pages row pointing at the text that carries it.
    """
    row = _open_page_row(session, phone, now, alert.case.is_test)
    if row is None:
        held = _paged_lately(session, line, phone, Medium.SMS, now)
        row = outbox.enqueue(
            session,
            kind=OutboxKind.ALERT,
            to=phone,
            send_at=now + PAGE_HOLD if held else now,
            params={MEMBERS: []},
            case_id=alert.case_id,
        )
    session.add(
        Page(
            alert=alert,
            person_id=person_id,
            outbox=row,  # a new text is written once, words and all, at the next flush
            to_phone=phone,
            channel=Medium.SMS,
            created_at=now,
        )
    )
    members = row.params[MEMBERS]
    if all(m["alert"] != alert.id for m in members):
        member = {"alert": alert.id, "template": template, "ack": person_id is not None}
        _compose(row, [*members, {**member, "params": alert_params(line, alert, now)}])


def _open_page_row(
    session: Session, phone: str, now: datetime, test: bool = False
) -> Outbound | None:
    """A page text to this number that is not claimed yet and due within PAGE_HOLD, about
    cases that are tests, or real, as this one is (a test case's texts stay local)."""
    query = (
        select(Outbound)
        .join(Case, Case.id == Outbound.case_id)
        .where(
            Outbound.to_phone == phone,
            Outbound.status == OutboxStatus.PENDING,
            Outbound.kind == OutboxKind.ALERT,
            Outbound.send_at <= now + PAGE_HOLD,
            Case.is_test == test,
            Outbound.tried_at.is_(None),  # words already sent once are never rewritten
        )
        .order_by(Outbound.id)
        .limit(1)
        .with_for_update(of=Outbound, skip_locked=True)  # being claimed or joined: a new text
        .execution_options(populate_existing=True)
    )
    row = session.scalar(query)
    return row if row is not None and MEMBERS in row.params else None


def _compose(row: Outbound, members: list[dict]) -> None:
    """A page text's words: one case reads as its own alert; more, as one combined text."""
    if len(members) == 1:
        row.template, params = f"{STAFF}:{members[0]['template']}", dict(members[0]["params"])
    else:
        row.template = f"{STAFF}:oncall_digest"
        listed = [f"{m['params']['ref']} (age {m['params']['age']})" for m in members]
        more = len(listed) - DIGEST_LISTS
        params = {
            "count": len(members),
            "refs": ", ".join(listed[:DIGEST_LISTS]) + (f" and {more} more" if more > 0 else ""),
            "ack": any(m["ack"] for m in members),
            "urgent": any(m["template"] in URGENT for m in members),
        }
    row.params = {**params, MEMBERS: members}  # a new dict: the JSON column sees the change


def cancel_pages(session: Session, alert: Alert, reason: str) -> None:
    """An alert ended: its unsent pages are cancelled; a combined text keeps its other cases."""
    carrying = select(Page.outbox_id).where(Page.alert_id == alert.id)
    query = (
        select(Outbound)
        .where(Outbound.id.in_(carrying), Outbound.status == OutboxStatus.PENDING)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in session.scalars(query).all():
        members = [m for m in row.params.get(MEMBERS, []) if m["alert"] != alert.id]
        if members:
            _compose(row, members)
        else:
            row.status, row.last_error = OutboxStatus.CANCELLED, reason


def _page_call(session, line: Line, alert, person, now) -> None:
    page_row = Page(
        alert=alert,
        person_id=person.id,
        to_phone=person.phone,
        channel=Medium.VOICE,
        created_at=now,
    )
    session.add(page_row)
    session.flush()
    url = signing.public_url(line.settings.public_base_url, VOICE_ALERT_PATH, f"page={page_row.id}")
    row = outbox.enqueue(
        session,
        kind=OutboxKind.ALERT_CALL,
        channel=Medium.VOICE,
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
    "group_home": "group home staff",
    "relative": "relative raising the child",
    "other": "other",
}
# None: no clear answer (the police question comes in the first reply, so it was asked)
POLICE_WORDS = {True: "yes", False: "not yet", None: "no answer"}
POLICE_REFUSED_WORDS = "police refused or delayed"


def police_text(case: Case) -> str:
    """Whether police were called, as staff read it; a refusal or delay is said first."""
    if case.police_refused:
        return POLICE_REFUSED_WORDS
    return POLICE_WORDS[case.police_called]


def children_count(case: Case) -> int:
    """How many children the report is about (one unless the caller said more)."""
    return max(1, len(case.children or []))


def ages_text(case: Case) -> str:
    """The age, or each child's age for a report about several ("7, 5")."""
    ages = [c.get("age_months") for c in case.children or []]
    if children_count(case) == 1 or all(a is None for a in ages):
        return age_text(case.age_months)
    return ", ".join(
        age_text(c.get("age_months")) if c.get("age_months") is not None else "?"
        for c in case.children or []
    )


def children_text(case: Case) -> str:
    """Each child of a report about several: "Liam (7), Emma (5, found)"."""
    parts = []
    for child in case.children or []:
        about = [age_text(child["age_months"])] if child.get("age_months") is not None else []
        about += ["found"] if child.get("found") else []
        name = child.get("name") or "name not given"
        parts.append(f"{name} ({', '.join(about)})" if about else name)
    return "; ".join(parts)


AREA_LIMIT, WHEN_LIMIT = 34, 22  # keep an alert at two SMS segments with a 40-char org name
# An intake left half done: how its alert says so, in the one sentence of what is known.
LEFT_PARTWAY = {
    AlertReason.HUNG_UP: "hung up during intake",
    AlertReason.STALLED: "went quiet mid-intake",
    AlertReason.ABANDONED: "left the intake unfinished",
}
STORY_RELATIONSHIPS = {
    "parent": "parent",
    "foster": "foster parent",
    "caseworker": "agency staff",
    "group_home": "group home",
    "relative": "relative",
}
STORY_POLICE = {True: "police called", False: "police not called"}
STORY_POLICE_REFUSED = "police refused"
STORY_AREA_LIMIT = 14  # two segments still, with a 50-character org name


def alert_params(line: Line, alert: Alert, now: datetime) -> dict[str, str]:
    """What an alert says: what to know before calling, little personal data unless
    INTAKE_ALERT_DETAIL=full. An intake left half done reads as one sentence (`story`)."""
    case = alert.case
    params = {
        "story": story(line, case, alert.reason) if alert.reason in LEFT_PARTWAY else "",
        "ref": case.ref,
        "reason": alert.reason,
        "age": ages_text(case),
        "children": children_count(case),
        "area": _short(case.last_seen_where, AREA_LIMIT) or "not given yet",
        "when": when_text(case, line.settings.zone),
        "lang": LANGUAGE_NAMES.get(case.lang, case.lang),
        "relationship": RELATIONSHIP_WORDS.get(case.relationship_to_child or "", "not given yet"),
        "police": police_text(case),
        "link": f"{line.settings.public_base_url}/cases/{case.ref}",
        "name": "",
        "description": "",
    }
    if line.settings.alert_detail == "full":
        params["name"] = _short(case.child_name, 60)
        params["description"] = _short(case.description, 120)
    return params


def story(line: Line, case: Case, reason: str) -> str:
    """A half-done intake in one sentence of what is known, e.g. "Caller +1 212... (Spanish)
    hung up during intake: age 6, last seen about 21:40 EST at Elm Park; police called." The
    name and description only with INTAKE_ALERT_DETAIL=full."""
    full = line.settings.alert_detail == "full"
    traits = [STORY_RELATIONSHIPS.get(case.relationship_to_child or "", "")]
    traits.append(LANGUAGE_NAMES.get(case.lang, case.lang) if case.lang != "en" else "")
    who = f"Caller {masked_phone(case.caller.phone)}"
    if any(traits):
        who += f" ({', '.join(t for t in traits if t)})"
    known = [_short(case.child_name, 60) if full else ""]
    known.append(_ages_said(case))
    known.append(_seen(case, line.settings.zone))
    known.append(_short(case.description, 120) if full else "")
    details = ", ".join(k for k in known if k)
    police = (
        STORY_POLICE_REFUSED if case.police_refused else STORY_POLICE.get(case.police_called, "")
    )
    details = "; ".join(d for d in (details, police) if d)
    if not details and case.reported_missing:
        details = "a child is missing, no details yet"
    if not details:
        return f"{who} {LEFT_PARTWAY[reason]} before giving any details."
    return f"{who} {LEFT_PARTWAY[reason]}: {details}."


def _ages_said(case: Case) -> str:
    """'age 6', or 'ages 7, 5' for a report about several children; '' when not given."""
    if children_count(case) > 1:
        return f"ages {ages_text(case)}"
    return f"age {age_text(case.age_months)}" if case.age_months is not None else ""


def _seen(case: Case, zone: ZoneInfo) -> str:
    """'last seen about 21:40 EST at Elm Park', or as much of it as is known."""
    when, where = _when(case, zone), _short(case.last_seen_where, STORY_AREA_LIMIT)
    if not when and not where:
        return ""
    return " ".join(w for w in ("last seen", when, f"at {where}" if where else "") if w)


def masked_phone(phone: str) -> str:
    """A caller's number as an alert shows it: the country and area code only ("+1
    212..."); the whole number goes to the person who takes the case."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "(number not shown)"
    national = str(parsed.national_number)
    area = phonenumbers.length_of_geographical_area_code(parsed) or 3
    return f"+{parsed.country_code} {national[:area]}..."


def age_text(months: int | None) -> str:
    """The child's age as staff read it: months under two, else years."""
    if months is None:
        return "not given yet"
    return f"{months} months" if months < 24 else f"{months // 12}"


def when_text(case: Case, zone: ZoneInfo) -> str:
    """When the child was last seen: 'about 21:40 EST' when known, else the caller's words."""
    return _when(case, zone) or "time not given yet"


def _when(case: Case, zone: ZoneInfo) -> str:
    if case.last_seen_at is not None:
        return f"about {clock_time(case.last_seen_at, zone)}"
    return _short(case.last_seen_when, WHEN_LIMIT)


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def acknowledge(
    session: Session, line: Line, alert: Alert, person: OnCallPerson, now: datetime
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
        AlertStatus.ACKED,
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
        .where(Alert.case_id == case.id, Alert.status.in_(ALERT_WAITING))
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
    cancel_pages(session, alert, reason)
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
            kind=OutboxKind.ALERT_TAKEN,
            to=phone,
            send_at=now,
            template=f"{STAFF}:{template}",
            params=params,
            case_id=case.id,
        )


def _pages(session: Session, alert: Alert) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.alert_id == alert.id)))


def page_failed(session: Session, row: Outbound, now: datetime) -> None:
    """A page could not be delivered: every alert it carried escalates at once, if it was
    waiting on the person this page went to."""
    if row.kind not in ALERT_KINDS:
        return
    for page_row in session.scalars(select(Page).where(Page.outbox_id == row.id)).all():
        alert = session.get(Alert, page_row.alert_id, with_for_update=True)
        current = alert.chain[alert.step] if alert and alert.chain else None
        if alert is not None and alert.status == AlertStatus.OPEN and page_row.person_id == current:
            alert.next_check_at = now
            log_event("oncall.page_failed", case=alert.case.ref, person=page_row.person_id)


def alerts_to_ack_all(session: Session, person: OnCallPerson) -> list[Alert]:
    """What ACK ALL takes: every alert still waiting for someone that was sent (not merely
    queued) to this person, oldest first."""
    sent_to = (
        select(Page.alert_id)
        .join(Outbound, Outbound.id == Page.outbox_id)
        .where(
            Page.person_id == person.id,
            Outbound.status.in_((OutboxStatus.SENDING, OutboxStatus.SENT)),
        )
    )
    query = select(Alert).where(Alert.id.in_(sent_to), Alert.status.in_(ALERT_WAITING))
    return list(session.scalars(_real(query).order_by(Alert.id)))


def _real(query):
    """Alerts about real cases only: a test case's pages never reached the person, so
    their ACK cannot mean it (intake/simulated.py)."""
    return query.join(Case, Case.id == Alert.case_id).where(Case.is_test.is_(False))


def alert_to_ack(session: Session, person: OnCallPerson) -> Alert | None:
    """What a bare ACK means: the newest alert sent to this person that still waits for
    someone; failing that, the newest sent to them (to say who has it or that it is over)."""
    paged = _real(
        select(Alert).join(Page, Page.alert_id == Alert.id).where(Page.person_id == person.id)
    )
    newest = paged.order_by(Page.id.desc()).limit(1)
    waiting = newest.where(Alert.status.in_(ALERT_WAITING))
    return session.scalar(waiting) or session.scalar(newest)


def take_off_chain(
    session: Session, line: Line, person: OnCallPerson, why: str, now: datetime
) -> None:
    """This person can no longer be paged: their queued pages are cancelled, and an alert
    whose turn was theirs moves on at once (escalate skips them, or waits for someone)."""
    outbox.cancel_pending(session, why, to=person.phone, kinds=ALERT_KINDS)
    query = (
        select(Alert).where(Alert.status == AlertStatus.OPEN).order_by(Alert.id).with_for_update()
    )
    for alert in session.scalars(query):
        if alert.chain and alert.chain[alert.step] == person.id:
            alert.next_check_at = now
    log_event("oncall.off_chain", person=person.id, why=why)


def staff_words(template: str, **params) -> str:
    return words.render(template, "en", channel=STAFF, **params)


def move_alerts(session: Session, old: Case, new: Case) -> None:
    """An alert still waking someone for `old` now speaks of `new` (RESTART)."""
    session.execute(
        update(Alert)
        .where(Alert.case_id == old.id, Alert.status.in_(ALERT_WAITING))
        .values(case_id=new.id)
        .execution_options(synchronize_session=False)
    )
