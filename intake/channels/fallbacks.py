"""What follows a text answered from memory (intake/infra/deadline.py): the caller is never left
behind, and their words are never lost, not even to a restart.

Before the answer goes out the text is written to the host's spool (intake/infra/spool.py, on
disk with fsync), and a replay is asked of the settling thread. A replay, by any process
of the host or by `intake worker` (each tick, so also at its start), settles each spooled
text in a transaction of its own and deletes it from the spool only after that COMMIT.
Settling is idempotent by MessageSid, so a text replayed twice (a process killed between
the COMMIT and the delete, two replays at once) is stored once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from flows import engine
from flows import events as ev
from intake.cases import lifecycle as cases
from intake.channels import sms as sms_adapter
from intake.channels.sms import InboundSms
from intake.channels.twiml_read import message_bodies
from intake.conversation import turn as conversations
from intake.core import outbox
from intake.core.line import Line
from intake.core.models import Caller, Case, Message
from intake.domain.enums import AlertReason, Direction, Medium, OutboxKind
from intake.infra.db import DatabaseBusy
from intake.infra.logs import event as log_event
from intake.infra.spool import Entry
from intake.oncall import escalation as oncall
from intake.staff import optouts

LATE_REPLY = OutboxKind.LATE_REPLY  # a turn's answer the caller never saw
FROM_MEMORY = AlertReason.FROM_MEMORY  # an alert's reason: a new report answered from memory
CALL_FROM_MEMORY = AlertReason.CALL_FROM_MEMORY  # ... and a new caller's call answered so
CALL_NOTE = "(a call, answered from memory: the database did not answer)"  # kept for staff
REPLAY = "spool.replay"  # the settling thread's job that replays the spool
BATCH = 100  # spooled texts taken by one replay at a time
BAD_ENTRY_PAUSE = 60.0  # seconds before an entry that failed otherwise is tried again
DOWN = (SQLAlchemyError, DatabaseBusy)  # the database did not take it: keep it, try later


class StillSpooled(Exception):
    """Texts are still in the spool after a replay (the database did not take them, or
    another replay holds them): replay again."""


@dataclass
class Replayed:
    """What one replay did: texts stored, texts left in the spool for later."""

    stored: int = 0
    left: int = 0
    error: str | None = None  # why the database did not take the rest (a class name)


def answered_from_memory(line: Line, sms: InboundSms, answered: str, now: datetime) -> None:
    """Before the fallback `answered` goes out: the text on the host's disk, and a replay
    asked for as soon as the database answers. A spool that cannot be written (a full
    disk) still leaves the text in memory, as before the spool, and never the caller
    without an answer."""
    if not _spooled(line, spool_key(sms.sid), _sms_data(sms, answered), now):
        line.turns.later("sms.settle", lambda session: settle(session, line, sms, answered, now))


def call_answered_from_memory(line: Line, sid: str, phone: str, now: datetime) -> None:
    """A call that heard the safety words from memory, on disk before they are said: once
    the database answers, someone is woken to call back a caller new to the line."""
    if not _spooled(line, CALL + sid, {"sid": sid, "sender": phone}, now):
        line.turns.later("call.settle", lambda session: settle_call(session, line, sid, phone, now))


def _spooled(line: Line, key: str, data: dict, now: datetime) -> bool:
    """Written to the spool (fsync'd), and a replay asked for; False when it cannot be."""
    try:
        line.spool.put(key, data, now.timestamp())
    except (sqlite3.Error, OSError) as error:
        log_event("spool.not_written", level=50, key=key, error=type(error).__name__)
        return False
    log_event("spool.spooled", key=key)
    replay_soon(line)
    return True


def replay_soon(line: Line) -> None:
    """Ask this process's settling thread to replay the spool until it is empty."""
    line.turns.soon(REPLAY, lambda: _replay_or_raise(line))


def replay_if_waiting(line: Line) -> None:
    """At a web process's start: a spool left by processes that stopped is replayed."""
    try:
        waiting = line.spool.count()
    except (sqlite3.Error, OSError) as error:
        log_event("spool.unreadable", level=50, error=type(error).__name__)
        return
    if waiting:
        log_event("spool.waiting", count=waiting)
        replay_soon(line)


def replay(line: Line, limit: int = BATCH) -> Replayed:
    """Settle the spooled texts no other replay holds, each in a transaction of its own,
    each deleted from the spool after its COMMIT. Stops at the first the database does
    not take: they stay spooled (`left`)."""
    entries = line.spool.take(limit)
    done = Replayed()
    for n, entry in enumerate(entries):
        try:
            _store(line, entry)
        except DOWN as error:
            rest = [e.key for e in entries[n:]]
            line.spool.release(rest)
            done.left = len(rest)
            done.error = type(error).__name__
            break
        except Exception as error:  # noqa: BLE001 - one bad entry holds up no other
            log_event("spool.not_replayed", level=40, key=entry.key, error=type(error).__name__)
            line.spool.release([entry.key], after=BAD_ENTRY_PAUSE)
            done.left += 1
            continue
        line.spool.done(entry.key)
        done.stored += 1
    if done.stored:
        log_event("spool.replayed", stored=done.stored, left=done.left)
    elif done.error:  # the database is still away: each try says so once, quietly
        log_event("spool.waiting", left=done.left, error=done.error)
    return done


def _store(line: Line, entry: Entry) -> None:
    """One spooled text or call settled in a transaction of its own (committed on return)."""
    at = datetime.fromtimestamp(entry.answered_at, UTC)
    with line.db.transaction() as session:
        if entry.key.startswith(CALL):
            settle_call(session, line, entry.data["sid"], entry.data["sender"], at)
        else:
            sms, answered = _from_data(entry.data)
            settle(session, line, sms, answered, at)


def replay_all(line: Line) -> Replayed:
    """Replay batch after batch, until the spool is empty or the database stops taking."""
    total = Replayed()
    if not line.spool.count():  # the usual tick: no file, or nothing in it
        return total
    while True:
        done = replay(line)
        total.stored, total.left = total.stored + done.stored, done.left
        if done.left or done.stored < BATCH:
            return total


def _replay_or_raise(line: Line) -> None:
    """For the settling thread: raises StillSpooled while texts are left in the spool,
    ours or held by a replay elsewhere (whose process may have died), so it tries again."""
    if replay_all(line).left or line.spool.count():
        raise StillSpooled()


def spool_key(sid: str) -> str:
    return f"sms:{sid}"


CALL = "call:"  # the spool key's prefix for a call (a text's is "sms:")


def _sms_data(sms: InboundSms, answered: str) -> dict:
    """What the spool keeps of a text answered from memory (encrypted there)."""
    return {
        "sid": sms.sid,
        "sender": sms.sender,
        "body": sms.body,
        "media": [[m.url, m.content_type] for m in sms.media],
        "meta": sms.meta,
        "answered": answered,
    }


def _from_data(data: dict) -> tuple[InboundSms, str]:
    media = tuple(engine.Media(url=url, content_type=kind) for url, kind in data["media"])
    sms = InboundSms(data["sid"], data["sender"], data["body"], media, data["meta"])
    return sms, data["answered"]


def settle(session: Session, line: Line, sms: InboundSms, answered: str, now: datetime) -> None:
    """After a text was answered from memory at `now` (intake/infra/deadline.py), once the
    database answers again: a turn that committed after all gets its reply sent, so no
    conversation moves on unseen; otherwise the words are kept, unanswered by the flow,
    so nobody loses what a caregiver wrote and a retry of the text gets the same answer.
    """
    sender = sms_adapter.lock_sender(session, sms.sender, now)
    person, caller = sender.person, sender.caller
    earlier = session.scalar(select(Message).where(Message.twilio_sid == sms.sid))
    if earlier is not None:
        # the turn that missed its deadline committed after all; a Twilio retry answered
        # later (created after the fallback) was seen by the caller and needs nothing
        if earlier.created_at <= now and earlier.reply_twiml not in (None, answered):
            _send_late_reply(session, sms.sender, earlier, now)
        return
    if sms_adapter.is_stop(line, sms.body):  # a STOP sent while the database hung still stops
        optouts.opt_out(session, line, sms.sender, now)
        case = cases.current_case(session, caller) if caller else None
    else:
        case = _case_of(session, line, caller, sms, now) if caller else None
    if case is not None and sms.media:
        cases.add_media(session, case, sms.media)
    session.add(
        Message(
            caller_id=caller.id if caller else None,
            person_id=person.id if person else None,
            case_id=case.id if case else None,
            direction=Direction.IN,
            twilio_sid=sms.sid,
            body=sms.body,
            num_media=len(sms.media),
            reply_twiml=answered,
            meta=(sms.meta or None) if person else None,
            created_at=now,
        )
    )
    log_event("sms.kept_unanswered", sid=sms.sid)


def _case_of(
    session: Session, line: Line, caller: Caller, sms: InboundSms, now: datetime
) -> Case | None:
    """The case a text answered from memory belongs to. A caller with no conversation
    going gets the case their text would have opened (the engine reads the words), and
    a person is woken when it says a child is missing: the caregiver heard the safety
    words but no question, and someone must call them. The conversation itself stays
    where the caller saw it: their next text starts the intake, and takes this case's
    alert with it (effects._new_intake)."""
    state, case = conversations.resume(
        session, line, caller, engine.State.from_dict(caller.state), now
    )
    if case is not None or state.status != engine.NEW:
        return case
    inbound = engine.Inbound(text=sms.body, media=sms.media, sender=sms.sender, channel=Medium.SMS)
    events = engine.run(line.flow, state, inbound).events
    started = next((e for e in events if isinstance(e, ev.IntakeStarted)), None)
    if started is None:
        return None
    reported = any(isinstance(e, ev.ReportedMissing) for e in events)
    case = cases.open_case(session, caller, started.lang, Medium.SMS, reported)
    if reported:
        oncall.start_alert(session, line, case, FROM_MEMORY, now)
    return case


def settle_call(session: Session, line: Line, sid: str, phone: str, now: datetime) -> None:
    """A call answered from memory at `now`, once the database answers: kept once (by its
    CallSid) on the caller; a caller with no conversation going gets a case, and someone
    is woken to call them back (they heard the safety words, and no question)."""
    caller = conversations.lock_caller(session, phone, now)
    if session.scalar(select(Message.id).where(Message.twilio_sid == sid)) is not None:
        return
    state, case = conversations.resume(
        session, line, caller, engine.State.from_dict(caller.state), now
    )
    if case is None and state.status == engine.NEW:
        case = cases.open_case(session, caller, caller.lang, Medium.VOICE)
        oncall.start_alert(session, line, case, CALL_FROM_MEMORY, now)
    session.add(
        Message(
            caller_id=caller.id,
            case_id=case.id if case else None,
            direction=Direction.IN,
            twilio_sid=sid,
            body=CALL_NOTE,
            num_media=0,
            created_at=now,
        )
    )
    log_event("call.kept", sid=sid)


def _send_late_reply(session: Session, to: str, earlier: Message, now: datetime) -> None:
    """The reply of a turn whose COMMIT finished after the caller heard the fallback."""
    body = "\n\n".join(message_bodies(earlier.reply_twiml or ""))
    if body:
        outbox.enqueue(
            session,
            kind=LATE_REPLY,
            to=to,
            send_at=now,
            body=body,
            case_id=earlier.case_id,
            caller_id=earlier.caller_id,
            dedupe_key=f"{LATE_REPLY}:{earlier.twilio_sid}",
            channel=Medium.SMS,
        )
    log_event("sms.late_reply", sid=earlier.twilio_sid, queued=bool(body))
