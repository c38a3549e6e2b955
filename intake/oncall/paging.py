"""Paging: texting and calling one person (or the fallback number) about an alert, with
texts to one number close in time combined, and what a failed page means for its alert.

Every page is an outbox row (and an alert_pages row), and a line in the escalation log.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core import audit, outbox, webhooks
from intake.core.models import Alert, Case, OnCallPerson, Outbound, Page
from intake.domain import enums as domain
from intake.domain.enums import (
    AlertStatus,
    EscalationAction,
    Medium,
    OutboxKind,
    OutboxStatus,
    ReachBy,
)
from intake.domain.escalation_plan import CALL, TEXT, THEIR_WAY
from intake.infra import signing
from intake.infra.logs import event as log_event
from intake.oncall.alertwords import STAFF, alert_params

if TYPE_CHECKING:
    from intake.core.line import Line

ALERT_KINDS = domain.ALERT_KINDS
VOICE_ALERT_PATH = webhooks.VOICE_ALERT_PATH
PAGE_HOLD = timedelta(seconds=15)  # the longest a page waits to be combined with others
MEMBERS = "members"  # a page text's params: the alerts it carries, each with its own words
DIGEST_LISTS = 8  # cases named in one combined text; ACK ALL takes them all anyway
URGENT = ("oncall_alert_all", "oncall_alert_empty", "oncall_alert_fallback")
# a call's status that means the person was not reached, as the escalation log says it
CALL_OUTCOMES = {"no-answer": EscalationAction.NO_ANSWER, "busy": EscalationAction.BUSY}


def page(
    session: Session,
    line: Line,
    alert: Alert,
    person: OnCallPerson,
    now: datetime,
    template: str = "oncall_alert",
    by: str = THEIR_WAY,
) -> None:
    """Text and/or call one person about an alert: `by` text or call, or their way (as
    the roster says they want to be reached: sms, call or both).

    Someone called within INTAKE_PAGE_WINDOW is not called again: the alert comes by
    text (combined with their other pages) instead.
    """
    reach_by = {THEIR_WAY: ReachBy(person.reach_by), TEXT: ReachBy.SMS, CALL: ReachBy.VOICE}[by]
    wants_call = reach_by.by_call
    call = wants_call and not _paged_lately(session, line, person.phone, Medium.VOICE, now)
    if reach_by.by_text or not call:
        _page_sms(session, line, alert, person.phone, person.id, now, template)
        audit.escalation(session, alert, EscalationAction.TEXTED, now, person)
    if call:
        _page_call(session, line, alert, person, now)
        audit.escalation(session, alert, EscalationAction.CALLED, now, person)
    elif wants_call:
        log_event("oncall.call_held", case=alert.case.ref, person=person.id)


def page_fallback(session: Session, line: Line, alert: Alert, now: datetime, why: str) -> None:
    """Tell the fallback number: nobody is on call ("empty"), or nobody took the case."""
    number = line.settings.fallback_alert_number
    if number is None:
        log_event("oncall.no_fallback", level=logging.CRITICAL, case=alert.case.ref, why=why)
        if why == "empty":
            audit.escalation(session, alert, EscalationAction.NO_FALLBACK, now)
        return
    template = "oncall_alert_empty" if why == "empty" else "oncall_alert_fallback"
    _page_sms(session, line, alert, number, None, now, template)
    detail = "nobody on call" if why == "empty" else ""
    audit.escalation(session, alert, EscalationAction.FALLBACK, now, detail=detail)


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
            channel=Medium.SMS,
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
            channel=Medium.SMS,
        )


def _pages(session: Session, alert: Alert) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.alert_id == alert.id)))


def page_failed(session: Session, row: Outbound, now: datetime) -> None:
    """A page could not be delivered (a call not answered, busy, or failed; a text
    refused): it goes in the escalation log, and every alert it carried escalates at
    once, if it was waiting on the person this page went to."""
    if row.kind not in ALERT_KINDS:
        return
    outcome = CALL_OUTCOMES.get(row.delivery_status or "", EscalationAction.NOT_DELIVERED)
    for page_row in session.scalars(select(Page).where(Page.outbox_id == row.id)).all():
        alert = session.get(Alert, page_row.alert_id, with_for_update=True)
        if alert is None:
            continue
        if alert.status == AlertStatus.OPEN and page_row.person_id is not None:
            audit.escalation(session, alert, outcome, now, page_row.person)
        current = alert.chain[alert.step] if alert.chain else None
        if alert.status == AlertStatus.OPEN and page_row.person_id == current:
            alert.next_check_at = now
            log_event("oncall.page_failed", case=alert.case.ref, person=page_row.person_id)
