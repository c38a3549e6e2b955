"""What the engine's events do to the caller and their case (one rule for every channel)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from flows import engine
from flows import events as ev
from intake.cases import card, followups, simulated
from intake.cases import lifecycle as cases
from intake.core import outbox
from intake.core.models import Caller, Case
from intake.domain.enums import AlertReason, CaseStatus, Medium, OutboxKind
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.staff import commands as staff
from intake.staff import optouts

if TYPE_CHECKING:
    from intake.core.line import Line

PHOTO_REQUEST = OutboxKind.PHOTO_REQUEST  # a text asking a caller for a photo
HUNG_UP = AlertReason.HUNG_UP  # an alert's reason: the caller hung up during the intake


def apply(
    session: Session,
    line: Line,
    caller: Caller,
    case: Case | None,
    result: engine.Result,
    now: datetime,
    channel: str,
) -> Case | None:
    """Apply the engine's events to the caller and their current case; the case the
    conversation is now about."""
    for event in result.events:
        case = _apply_one(session, line, caller, case, event, now, channel, result.events)
    return case


def _apply_one(
    session: Session,
    line: Line,
    caller: Caller,
    case: Case | None,
    event: ev.Event,
    now: datetime,
    channel: str,
    events: tuple[ev.Event, ...] = (),
) -> Case | None:
    match event:
        case ev.IntakeStarted(lang=lang):
            reported = any(isinstance(e, ev.ReportedMissing) for e in events)
            test = simulated.is_test_caller(line.settings, caller.phone)
            return _new_intake(session, caller, case, lang, channel, reported, test)
        case ev.ReportedMissing() if case is not None:
            case.reported_missing = True
        case ev.AnswerGiven(key=key, value=value) if case is not None:
            cases.record_answer(session, case, key, value, now)
        case ev.MediaReceived(media=media) if case is not None:
            cases.add_media(session, case, media)
        case ev.IntakeCompleted(followups=followups_too) if case is not None:
            cases.complete(case, now)
            if followups_too:  # the channel does not offer them: they go with the end
                followups.schedule(session, line.settings, case, caller, now)
            card.send(session, line, case, caller, now)  # to read to police and NCMEC
            oncall.start_alert(session, line, case, AlertReason.INTAKE, now)
        case ev.FollowupsWanted() if case is not None:
            followups.schedule(session, line.settings, case, caller, now)
        case ev.PhotoRequested() if case is not None:
            _text_photo_request(session, caller, case, now)
        case ev.HungUp() if case is not None and case.status == CaseStatus.INTAKE:
            oncall.start_alert(session, line, case, HUNG_UP, now)
            log_event("voice.hung_up", case=case.ref)
        case ev.AskedForPerson() if case is not None:
            oncall.start_alert(session, line, case, AlertReason.ASKED, now)
        case ev.CaseMessage(text=text) if case is not None:
            staff.relay_to_worker(session, case, text, now)
        case ev.ChildFound():
            if case is not None:
                cases.found(session, case, now)
            return case
        case ev.OptedOut():
            optouts.opt_out(session, line, caller.phone, now)
        case ev.OptedIn():
            caller.opted_out_at = None
            if case is not None:
                followups.resume(session, case, now)
        case ev.LanguageChanged(lang=lang) if case is not None:
            case.lang = lang
    return case


def _new_intake(
    session: Session,
    caller: Caller,
    case: Case | None,
    lang: str,
    channel: str,
    reported_missing: bool = False,
    test: bool = False,
) -> Case:
    """Open the case for a new intake (written at once, with "a child is missing" if the
    same text said so). An intake left half done (RESTART) is kept for staff as
    abandoned, and an alert waking someone for it now wakes them for this one: it is the
    same caller with the same need."""
    new = cases.open_case(session, caller, lang, channel, reported_missing, test)
    if case is not None and case.status == CaseStatus.INTAKE:
        case.status = CaseStatus.ABANDONED
        oncall.move_alerts(session, case, new)
    return new


def _text_photo_request(session: Session, caller: Caller, case: Case, now: datetime) -> None:
    outbox.enqueue(
        session,
        kind=PHOTO_REQUEST,
        to=caller.phone,
        send_at=now,
        template="ask_photo",
        params={"ref": case.ref},
        lang=caller.lang,
        case_id=case.id,
        caller_id=caller.id,
        dedupe_key=f"photo_request:{case.id}",
        channel=Medium.SMS,
    )
