"""Reaching a person from a call (0): the people on call rung one at a time, the whisper
that screens them (1 takes the call), a voicemail when nobody does; and the call's end."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from flows import engine
from intake.cases import lifecycle as cases
from intake.channels.voice_call import (
    RING_SECONDS,
    VOICEMAIL,
    WHISPER,
    Call,
    Progress,
    called,
    hung_up,
)
from intake.conversation import turn as conversations
from intake.core.models import Caller, Case, CaseMedia
from intake.domain.enums import AlertReason
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.oncall import roster
from intake.staff import commands as staff

if TYPE_CHECKING:
    from intake.core.line import Line

VOICEMAIL_SECONDS = 120


def ask_for_person(session: Session, line: Line, caller: Caller, now: datetime) -> str:
    """0: ring the people on call one at a time; nobody: a voicemail."""
    case = _ensure_case(session, line, caller, now)
    call = Call(line, caller.lang, case)
    call.say_template("connecting")
    return dial(session, line, caller, case, call, 0, now)


def dial(
    session: Session, line: Line, caller: Caller, case: Case, call: Call, n: int, now: datetime
) -> str:
    """Ring the n-th person who can be reached now (screened: they must press 1)."""
    numbers = _numbers_to_ring(session, line, now)
    if n >= len(numbers):
        return voicemail_prompt(call, bool(numbers))
    caller_id = line.settings.twilio_phone_number or None
    dialling = call.response.dial(
        action=Progress(dialled=n).dial_url(),
        method="POST",
        timeout=RING_SECONDS,
        caller_id=caller_id,
    )
    dialling.number(numbers[n], url=f"{WHISPER}?case={case.id}", method="POST")
    log_event("voice.dial", case=case.ref, n=n)
    return str(call)


def person_done(
    session: Session, line: Line, phone: str, status: str, progress: Progress, now: datetime
) -> str:
    """The Dial ended: talked (goodbye), or the next person, or a voicemail."""
    n = progress.dialled
    caller = conversations.lock_caller(session, phone, now)
    case = _ensure_case(session, line, caller, now)
    call = Call(line, caller.lang, case)
    if status == "completed":
        return call.hangup()
    return dial(session, line, caller, case, call, n + 1, now)


def voicemail_prompt(call: Call, anyone: bool) -> str:
    call.say_template("no_one_answered" if anyone else "no_one_on_call")
    call.response.record(
        action=VOICEMAIL, method="POST", max_length=VOICEMAIL_SECONDS, play_beep=True
    )
    call.say_template("goodbye")
    return call.hangup()


def voicemail(
    session: Session, line: Line, phone: str, url: str, seconds: int, now: datetime
) -> str:
    """The caller left a message: kept on the case, and the chain is alerted to it."""
    caller = conversations.lock_caller(session, phone, now)
    case = _ensure_case(session, line, caller, now)
    if url:
        session.add(CaseMedia(case=case, url=url, content_type="audio/x-wav", created_at=now))
        oncall.start_alert(session, line, case, AlertReason.VOICEMAIL, now)
        log_event("voice.voicemail", case=case.ref, seconds=seconds)
    call = Call(line, caller.lang, case)
    call.say_template("voicemail_kept")
    return call.hangup()


def whisper(session: Session, line: Line, case_id: int) -> str:
    """What the person on call hears on answering: who is calling; 1 takes the call."""
    case = session.get(Case, case_id)
    call = Call(line, "en", case)
    answer_url = f"{WHISPER}/answer?case={case_id}"
    check = call.gather(answer_url, engine.CHOICE, timeout=8)
    call.say_template("whisper", check, lang=case.lang if case else "en")
    call.redirect(answer_url)  # no key: not taken (a voicemail never takes the call)
    return str(call)


def whisper_answer(
    session: Session,
    line: Line,
    case_id: int,
    worker_phone: str,
    digits: str,
    now: datetime,
    meta: dict[str, str] | None = None,
) -> str:
    """1 takes the call, as ACK would, and is kept on the case with Twilio's `meta` of the
    request, as a text command is; an empty answer connects the two."""
    case = session.get(Case, case_id)
    person = roster.by_phone(session, worker_phone)
    call = Call(line, "en", case)
    if digits != "1" or case is None:
        call.say_template("whisper_no_key")
        return call.hangup()
    twiml = str(call)  # nothing more: Twilio connects the caller
    if person is not None:
        taken = staff.take(session, line, person, case, now)
        staff.keep_command(session, person, taken.case, digits, twiml, meta, now)
    log_event("voice.taken", case=case.ref)
    return twiml


def _numbers_to_ring(session: Session, line: Line, now: datetime) -> list[str]:
    """Who a caller who pressed 0 may reach: those on call now, then the fallback number."""
    numbers = [p.phone for p in roster.chain(session, now, line.settings.zone)]
    fallback = line.settings.fallback_alert_number
    return numbers + ([fallback] if fallback and fallback not in numbers else [])


def _ensure_case(session: Session, line: Line, caller: Caller, now: datetime) -> Case:
    """The caller's open case; a caller who asks for a person before any answer gets one."""
    case = cases.current_case(session, caller)
    if case is not None:
        return case
    turn = conversations.take_turn(session, line, caller, called(caller.phone), now)
    return turn.case


# --- the end of a call ----------------------------------------------------------------


def ended(session: Session, line: Line, phone: str, now: datetime) -> None:
    """The call ended: the one turn, so an intake left half done wakes someone."""
    caller = conversations.lock_caller(session, phone, now)
    conversations.take_turn(session, line, caller, hung_up(caller.phone), now)
