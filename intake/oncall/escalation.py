"""Alerts and escalation: wake someone for a case by walking the escalation plan
(intake/domain/escalation_plan.py): the person on call; if they sleep, the next; then everyone.

An alert keeps its place in its row (chain, step, round, plan_step, next_check_at) and
every page is an outbox row: a restart simply continues. Each step goes in the escalation
log (audit.escalation); paging is oncall/paging.py, what an alert says oncall/alertwords.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from intake.core import audit, outbox
from intake.core.models import Alert, Caller, Case, OnCallPerson, Outbound, Page
from intake.domain.enums import ALERT_WAITING, REACHED, AlertReason, AlertStatus, CaseStatus
from intake.domain.enums import EscalationAction as Action
from intake.domain.escalation_plan import EVERYONE, FALLBACK, NEXT, ON_CALL, Step
from intake.infra.logs import event as log_event
from intake.oncall import roster
from intake.oncall.alertwords import story
from intake.oncall.paging import ALERT_KINDS, cancel_pages, page, page_fallback, tell

if TYPE_CHECKING:
    from intake.core.line import Line

# what a step came to: it paged (its wait follows); it paged and stays (a `next` going
# round); it is over without paging (the rounds are done); nobody left (started afresh)
PAGED, AGAIN, OVER, GONE = "paged", "again", "over", "gone"


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
    alert = Alert(case=case, reason=reason, status=AlertStatus.OPEN, created_at=now)
    people = _set_chain(alert, roster.chain(session, now, line.settings.zone))
    session.add(alert)
    session.flush()  # one INSERT with the whole chain; its id goes into the page text
    audit.escalation(session, alert, Action.STARTED, now, detail=reason)
    if people:
        _walk(session, line, alert, now)
        log_event("oncall.alert", case=case.ref, reason=reason, chain=len(alert.chain))
    else:
        log_event("oncall.empty_chain", level=logging.CRITICAL, case=case.ref, reason=reason)
        page_fallback(session, line, alert, now, "empty")
    return alert


def _begin(session: Session, line: Line, alert: Alert, people: list[OnCallPerson], now) -> bool:
    """Walk the plan afresh with these people (the case's worker first); False if there
    is nobody (the alert waits for someone)."""
    if not _set_chain(alert, people):
        return False
    _walk(session, line, alert, now)
    return True


def _set_chain(alert: Alert, people: list[OnCallPerson]) -> list[OnCallPerson]:
    """Set the alert's chain (the case's worker first) at the plan's first step; the
    people in it. With nobody, the alert waits (no next check)."""
    worker = alert.case.assigned_person
    if worker is not None and roster.can_be_paged(worker):
        people = [worker] + [p for p in people if p.id != worker.id]
    alert.chain, alert.step, alert.round, alert.plan_step = [p.id for p in people], 0, 0, 0
    alert.next_check_at = None
    return people


def _walk(session: Session, line: Line, alert: Alert, now: datetime) -> None:
    """Take the plan's steps from where the alert stands until one says to wait; after
    the last step the alert is over ("exhausted")."""
    plan = line.settings.plan
    while alert.plan_step < len(plan):
        step = plan[alert.plan_step]
        came_to = _take(session, line, alert, step, now)
        if came_to == GONE:
            return
        if came_to == AGAIN:
            alert.next_check_at = now + step.wait
            return
        alert.plan_step += 1
        if came_to == PAGED and step.wait:
            alert.next_check_at = now + step.wait
            return
    log_event("oncall.exhausted", level=logging.ERROR, case=alert.case.ref)
    audit.escalation(session, alert, Action.EXHAUSTED, now)
    alert.status, alert.next_check_at = AlertStatus.EXHAUSTED, None


def _take(session: Session, line: Line, alert: Alert, step: Step, now: datetime) -> str:
    """Take one step of the plan; what it came to (PAGED, AGAIN, OVER or GONE)."""
    if step.who == EVERYONE:
        for person in roster.people(session):
            page(session, line, alert, person, now, template="oncall_alert_all", by=step.by)
        return PAGED
    if step.who == FALLBACK:
        page_fallback(session, line, alert, now, "all")
        return PAGED
    if step.who == ON_CALL:
        person = session.get(OnCallPerson, alert.chain[alert.step]) if alert.chain else None
        if roster.can_be_paged(person):
            page(session, line, alert, person, now, by=step.by)
            return PAGED
    return _move_on(session, line, alert, step, now)


def _move_on(session: Session, line: Line, alert: Alert, step: Step, now: datetime) -> str:
    """Page the next in the chain who can still be paged (a `next` step, or the person
    on call gone). People removed or opted out meanwhile are skipped; a chain with
    nobody left starts afresh from who is on call now, or waits for someone."""
    rounds = step.rounds if step.who == NEXT else 0
    for _ in alert.chain:
        alert.step += 1
        if alert.step >= len(alert.chain):
            alert.step, alert.round = 0, alert.round + 1
        if rounds and alert.round >= rounds:
            return OVER
        person = session.get(OnCallPerson, alert.chain[alert.step])
        if person is not None and roster.can_be_paged(person):
            page(session, line, alert, person, now, by=step.by)
            log_event("oncall.escalated", case=alert.case.ref, step=alert.step, round=alert.round)
            return AGAIN if rounds else PAGED
    log_event("oncall.chain_gone", level=logging.ERROR, case=alert.case.ref)
    if not _begin(session, line, alert, roster.chain(session, now, line.settings.zone), now):
        page_fallback(session, line, alert, now, "empty")
    return GONE


def someone_to_page(session: Session, line: Line, now: datetime) -> bool:
    """A page sent now would reach someone: a person on call, or the fallback number."""
    if line.settings.fallback_alert_number is not None:
        return True
    return bool(roster.chain(session, now, line.settings.zone))


def check_due(line: Line, now: datetime) -> int:
    """Escalate open alerts whose wait is over, start waiting ones; returns how many moved."""
    with line.db.transaction() as session:
        due = list(session.scalars(_open_alerts(Alert.next_check_at <= now)))
        for alert in due:  # the wait is over and nobody took the case: the plan's next step
            _walk(session, line, alert, now)
        return len(due) + wake_waiting(session, line, now)


def wake_waiting(session: Session, line: Line, now: datetime) -> int:
    """Alerts that found nobody on call: page the first person as soon as there is one.

    A waiting alert is open with no next check. A normal tick costs one lookup in the
    partial index on open alerts' next_check_at; the roster is read only if some wait, and
    they are locked only once someone is on call.
    """
    waiting = Alert.next_check_at.is_(None)
    one = select(Alert.id).where(Alert.status == AlertStatus.OPEN, waiting).limit(1)
    if session.scalar(one) is None:
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
    if roster.can_be_paged(worker):
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


def acknowledge(
    session: Session, line: Line, alert: Alert, person: OnCallPerson, now: datetime
) -> set[str]:
    """Stop the escalation, give the case to this person, tell the others it is taken;
    returns the numbers told."""
    alert.acked_by, alert.acked_at = person, now
    alert.case.assigned_person = person
    audit.escalation(session, alert, Action.TOOK, now, person)
    others = {p.to_phone for p in _reached(session, alert) if p.person_id != person.id}
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
    told = {worker.phone} if roster.can_be_paged(worker) else set()
    for alert in alerts:
        paged = {p.to_phone for p in _reached(session, alert)} - told
        audit.escalation(session, alert, Action.STOOD_DOWN, now, detail=why)
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
    if roster.can_be_paged(worker):
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


def _reached(session: Session, alert: Alert) -> list[Page]:
    """The alert's pages that went out: a page still held (pages to one person are combined
    for a while) is cancelled, not followed by news of an alert its person never had."""
    pages = session.scalars(select(Page).where(Page.alert_id == alert.id))
    return [p for p in pages if p.outbox is None or p.outbox.status in REACHED]


def alerts_to_ack_all(session: Session, person: OnCallPerson) -> list[Alert]:
    """What ACK ALL takes: every alert still waiting for someone that was sent (not merely
    queued) to this person, oldest first."""
    sent_to = (
        select(Page.alert_id)
        .join(Outbound, Outbound.id == Page.outbox_id)
        .where(
            Page.person_id == person.id,
            Outbound.status.in_(REACHED),
        )
    )
    query = select(Alert).where(Alert.id.in_(sent_to), Alert.status.in_(ALERT_WAITING))
    return list(session.scalars(_real(query).order_by(Alert.id)))


def _real(query):
    """Alerts about real cases only: a test case's pages never reached the person, so
    their ACK cannot mean it (intake/cases/simulated.py)."""
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


def move_alerts(session: Session, old: Case, new: Case) -> None:
    """An alert still waking someone for `old` now speaks of `new` (RESTART)."""
    session.execute(
        update(Alert)
        .where(Alert.case_id == old.id, Alert.status.in_(ALERT_WAITING))
        .values(case_id=new.id)
        .execution_options(synchronize_session=False)
    )
