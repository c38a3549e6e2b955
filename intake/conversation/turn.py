"""One turn of a caller's conversation, on any channel: resume it, run the engine, apply
what it says (intake/conversation/effects.py), and render the replies in that channel's
words.

A channel adapter (intake/channels/sms.py, intake/channels/voice.py) types what came in
(engine.Inbound: a text, keys, speech, silence, a call coming to the questions, an end
offer), locks the caller, runs this one turn inside the caller's transaction and keeps
what came in; so a message is either fully handled (stored, answered, its effects
applied) or not at all.
The adapter only renders the turn: it never writes the conversation itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from flows import engine
from flows import events as ev
from intake.cases import followups
from intake.cases import lifecycle as cases
from intake.conversation import effects
from intake.core import outbox, words
from intake.core.models import Caller, Case, Message
from intake.domain.enums import CaseStatus, Direction
from intake.infra import db
from intake.infra.logs import event as log_event
from intake.oncall import escalation as oncall
from intake.oncall import roster
from intake.staff import commands as staff

if TYPE_CHECKING:
    from intake.core.line import Line


class Unread(Enum):
    """A value not read yet (the caller's current case): ask the database."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


@dataclass
class Turn:
    """What one turn touched and said: the caller, their case, the engine's result and
    the rendered replies."""

    caller: Caller
    case: Case | None
    result: engine.Result | None = None
    texts: list[str] | None = None
    step: str | None = None  # the question the inbound answered, if any


def take_turn(
    session: Session,
    line: Line,
    caller: Caller,
    inbound: engine.Inbound,
    now: datetime,
    unsaid: frozenset[str] = frozenset(),
    case: Case | None | Unread = UNREAD,
) -> Turn:
    """Run one turn for a locked caller on inbound.channel; `unsaid` names replies the
    channel leaves out (the carrier already said them); `case`: the caller's current case
    if the adapter already read it."""
    state, case = resume(session, line, caller, engine.State.from_dict(caller.state), now, case)
    result = engine.run(line.flow, state, inbound)
    turn = Turn(caller, effects.apply(session, line, caller, case, result, now, inbound.channel))
    replies = [r for r in result.replies if r.template not in unsaid]
    channel = inbound.channel
    texts = [say(session, line, turn, reply, result.state.lang, now, channel) for reply in replies]
    texts += still_open(session, line, caller, result, channel)
    save_state(session, caller, result.state, now)
    turn.result, turn.texts, turn.step = result, texts, state.step
    log_event(
        "turn.taken",
        channel=channel,
        caller=caller.id,
        case=turn.case.ref if turn.case else "-",
        step=result.state.step or result.state.status,
        events=",".join(type(e).__name__ for e in result.events) or "-",
    )
    return turn


def save_state(session: Session, caller: Caller, state: engine.State, now: datetime) -> None:
    """Where the caller's conversation now stands, written at once (nothing if unchanged)."""
    saved = state.to_dict()
    if saved != caller.state or state.lang != caller.lang:
        db.write_through(session, caller, state=saved, lang=state.lang, updated_at=now)


def resume(
    session: Session,
    line: Line,
    caller: Caller,
    state: engine.State,
    now: datetime,
    case: Case | None | Unread = UNREAD,
) -> tuple[engine.State, Case | None]:
    """Where the caller's conversation stands now, given what happened to their cases
    since their last text (staff closed one, or marked it found), and the case it is about.
    """
    if case is UNREAD:
        case = cases.current_case(session, caller)
    if case is not None:
        if state.status in engine.FINISHED and case.status == CaseStatus.OPEN:
            return replace(state, status=engine.COMPLETE), case  # another case is still open
        return state, case
    if state.status == engine.NEW:
        return state, None
    latest = cases.latest_case(session, caller)
    if latest is not None and state.status == engine.ACTIVE and cases.take_up_again(latest):
        return state, latest  # marked abandoned while they were away: the intake goes on
    finished = replace(state, step=None, answers={}, retries=0)
    if latest is not None and cases.within_reopen_window(line.settings, latest, now):
        return replace(finished, status=engine.CLOSED), latest
    if latest is not None and latest.status == CaseStatus.FOUND:
        return replace(finished, status=engine.ENDED), latest
    return engine.State(lang=state.lang), None  # long closed, or nothing left: start afresh


def say(
    session: Session,
    line: Line,
    turn: Turn,
    reply: engine.Reply,
    lang: str,
    now: datetime,
    channel: str,
) -> str:
    """The words of one reply of this turn, in the channel's words."""
    extra = context(session, line, turn, reply, now)
    return render(line, reply, lang, turn.case, channel=channel, **extra)


def context(session: Session, line: Line, turn: Turn, reply: engine.Reply, now: datetime) -> dict:
    """What a reply's words depend on beyond the conversation itself."""
    case = turn.case
    match reply.template:
        case "help" | "answer_what_next" | "answer_will_call" | "answer_other":
            return {"reachable": oncall.someone_to_page(session, line, now)}
        case "summary":
            return {
                "police_called": case.police_called if case else reply.params.get("police_called"),
                "followups": followups.planned(line.settings, turn.caller),
                "card": followups.can_take_texts(turn.caller),  # intake/cases/card.py sends it
            }
        case "found":
            return {"relationship": case.relationship_to_child if case else None}
        case "after_close":
            return {"relayed": staff.worker_of(case) is not None}
        case "checklist_sent":
            return {"minutes": followups.first_wait_minutes(line.settings)}
    return {}


def still_open(
    session: Session, line: Line, caller: Caller, result: engine.Result, channel: str
) -> list[str]:
    """After FOUND, name any other case of this caller that is still open."""
    if not any(isinstance(e, ev.ChildFound) for e in result.events):
        return []
    other = cases.current_case(session, caller)
    if other is None:
        return []
    reply = engine.Reply("found_other_open")
    return [render(line, reply, result.state.lang, other, channel=channel)]


def lock_caller(session: Session, phone: str, now: datetime) -> Caller:
    """The caller's row, created if new, locked until the transaction ends.

    A caller who texted before costs one SELECT ... FOR UPDATE and no write; a new one
    is inserted (our own uncommitted row: nobody else can take it until we commit). Two
    first texts at once: the second INSERT waits for the first, finds the row taken and
    locks it like any other.
    """
    existing = session.scalars(_LOCKED_CALLER, {"phone": phone}).one_or_none()
    return existing if existing is not None else new_caller(session, phone, now)[0]


def lock_known_caller(session: Session, phone: str) -> tuple[Caller | None, bool]:
    """A caller who texted before, locked as `lock_caller` does, and whether the number
    may be on the roster: one round trip for the usual text. (None, True) for a number
    with no caller row: ask the roster, then `new_caller`.

    Whatever else the turn reads comes in later statements: under PostgreSQL's READ
    COMMITTED a statement that waited for the lock sees other tables as they were before
    the text that held it committed, so only the locked row itself is read here."""
    row = session.execute(_KNOWN_CALLER, {"phone": phone}).one_or_none()
    return (None, True) if row is None else (row[0], bool(row[1]))


def new_caller(session: Session, phone: str, now: datetime) -> tuple[Caller, bool]:
    """A caller a locked read did not find: inserted (True: they have no case yet), or
    locked if another text of theirs inserted it first (False)."""
    created = session.scalars(
        outbox.dialect_insert(session, Caller)
        .values(phone=phone, lang="en", state={}, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["phone"])
        .returning(Caller)
    ).one_or_none()
    if created is not None:
        return created, True
    return session.scalars(_LOCKED_CALLER, {"phone": phone}).one(), False


# The hot path's statements, built once (building one costs more CPU than running it).
_LOCKED_CALLER = (
    select(Caller)
    .where(Caller.phone == bindparam("phone"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_KNOWN_CALLER = (
    select(Caller, roster.IS_ON_ROSTER)
    .where(Caller.phone == bindparam("phone"))
    .with_for_update(of=Caller)
    .execution_options(populate_existing=True)
)
_KEEP_MESSAGES = insert(Message.__table__)


def keep_messages(
    session: Session,
    turn: Turn,
    body: str,
    now: datetime,
    sid: str | None = None,
    num_media: int = 0,
    reply: str | None = None,
) -> None:
    """Keep what came in and what we answered, on the caller and the case. `reply` is
    the channel's answer as sent (TwiML), kept so a retry gets the same answer."""
    case_id = turn.case.id if turn.case else None
    rows = [
        dict(
            caller_id=turn.caller.id,
            case_id=case_id,
            direction=Direction.IN,
            twilio_sid=sid,
            body=body,
            num_media=num_media,
            step=turn.step,
            reply_twiml=reply,
            created_at=now,
        )
    ]
    if turn.texts:
        rows.append(
            dict(
                rows[0],
                direction=Direction.OUT,
                twilio_sid=None,
                body="\n\n".join(turn.texts),
                num_media=0,
                step=None,
                reply_twiml=None,
            )
        )
    session.execute(_KEEP_MESSAGES, rows)  # one executemany, nothing read back


def render(
    line: Line,
    reply: engine.Reply,
    lang: str,
    case: Case | None,
    channel: str,
    **extra: Any,
) -> str:
    """The words of one reply, in a channel's words, with the case's details filled in."""
    params = {
        "org": line.settings.org_name,
        "ref": case.ref if case else "",
        "child_name": (case.child_name or "") if case else "",
        **reply.params,
        **extra,
    }
    return words.render(reply.template, lang, channel=channel, **params)
