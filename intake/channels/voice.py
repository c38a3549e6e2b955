"""The voice adapter: a webhook of a call typed for the engine, the one turn SMS takes too
(conversations.take_turn), and its reply rendered as TwiML.

A call speaks the safety words inside its first Gather, so a key pressed while they are
said counts: the danger line, then the other language offered in its own voice (2), then
the rest, then a person (0) and the NCMEC number again (9). Then the intake's questions:
keypad where a step is yes/no, a choice or a number, speech for the rest, a
low-confidence answer read back (the engine's read-back question). 0 and 9 pressed alone
work at every question: where the answer is a number keyed and ended with # (how old?),
"9#" is a 9-year-old and a lone 9 (Twilio's FinishedOnKey is empty) is still the NCMEC
number. Silence asks again twice, then the engine passes the question over; a call that
stays silent ends with the police instruction and the NCMEC number once more. Every
Gather is followed by a Redirect, so silence moves the call on. TwiML only from
VoiceResponse (intake/channels/voice_call.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from flows import engine
from intake.cases import followups
from intake.cases import lifecycle as cases
from intake.channels.voice_call import (  # noqa: F401 - the adapter's names (web, twiml_bin, tests)
    CHANNEL,
    CONFIRM,
    END,
    KEYS,
    MENU,
    OFFICE,
    RING_SECONDS,
    SPOKEN,
    TURN,
    VOICES,
    Call,
    Move,
    Progress,
    called,
    fallback,
    fallback_person,
    offer,
)
from intake.channels.voice_person import (  # noqa: F401 - the webhooks' steps
    ask_for_person,
    ended,
    person_done,
    voicemail,
    whisper,
    whisper_answer,
)
from intake.conversation import turn as conversations
from intake.conversation.effects import PHOTO_REQUEST
from intake.core import outbox, words
from intake.core.models import Caller, Case
from intake.infra.logs import event as log_event
from intake.oncall.office import office_open

if TYPE_CHECKING:
    from intake.core.line import Line

ASK_AGAIN = 2  # silences on one question before it is passed over
SILENT_CALL = 6  # silences in a row before a silent call ends
MAX_HINTS = 100  # Twilio takes up to 500 hint phrases; a short list helps more
OTHER_LANGUAGE = {"en": "es", "es": "en"}  # what 2 switches to at the greeting
# The callback question on a call is one key first (1: this number, 2: another), so a 1
# goes at once; 2 asks for the number, keyed in and ended with #.
CALLBACK = "callback_phone"
CALLBACK_CHOICE = SPOKEN | {"num_digits": 1}
NUMBER_ENTRY = frozenset({"ask_callback_number", "retry_callback_number"})


# --- the start of a call --------------------------------------------------------------


def answer(session: Session, line: Line, phone: str, now: datetime) -> str:
    """A call comes in: the safety words with the menu (2 the other language, 0 a person,
    9 NCMEC); in office hours, the safety words and then the office."""
    caller = conversations.lock_caller(session, phone, now)
    call = Call(line, caller.lang if caller.lang in VOICES else "en")
    log_event("voice.answered", caller=caller.id)
    if not office_open(line.settings, now):
        return greet(call)
    call.say_template("greeting")  # in office hours the office answers first
    call.say_template("office_connecting")
    call.response.dial(
        line.settings.office_number,
        action=OFFICE,
        method="POST",
        timeout=RING_SECONDS,
        caller_id=line.settings.twilio_phone_number or None,
    )
    return str(call)


def greet(call: Call) -> str:
    """The safety words inside the menu's Gather: the danger line, the other language
    offered in its own voice, the rest of the safety words, then 0 and 9."""
    menu = call.gather(MENU, engine.CHOICE, timeout=3)
    danger, _, rest = call.words("greeting").partition("\n")
    call.say(danger, menu)
    offer_language(call, menu)
    call.say(rest, menu)
    call.say_template("menu", menu)
    call.redirect(MENU)
    return str(call)


def offer_language(call: Call, into) -> None:
    """On an English call, "Para español, oprima 2" in the Spanish voice, and the other
    way round: the offer is in the other language's own words and voice."""
    other = OTHER_LANGUAGE.get(call.lang, "es")
    said = words.render("language_offer", other, channel=CHANNEL)
    call.say(said, into, lang=other)


def offer_menu(call: Call) -> str:
    """After the office did not answer: 2 the other language, 0 a person, 9 NCMEC."""
    menu = call.gather(MENU, engine.CHOICE, timeout=3)
    offer_language(call, menu)
    call.say_template("menu", menu)
    call.redirect(MENU)
    return str(call)


def office_done(session: Session, line: Line, phone: str, status: str, now: datetime) -> str:
    """The office call ended: if nobody answered there, the after-hours line runs."""
    caller = conversations.lock_caller(session, phone, now)
    call = Call(line, caller.lang if caller.lang in VOICES else "en")
    if status == "completed":
        return call.hangup()
    return offer_menu(call)


def menu(session: Session, line: Line, phone: str, move: Move, now: datetime) -> str:
    """After the greeting: the other language, a person, the NCMEC number, or on to the
    questions. Only this Gather reads 2 as a language: at a question it is an answer."""
    caller = conversations.lock_caller(session, phone, now)
    if move.digits == KEYS["person"]:
        return ask_for_person(session, line, caller, now)
    other = OTHER_LANGUAGE.get(caller.lang, "es")
    lang = other if move.digits == KEYS["language"] else None
    first = "ncmec_again" if move.digits == KEYS["ncmec"] else None
    return to_the_questions(session, line, caller, now, first, lang)


def to_the_questions(
    session: Session,
    line: Line,
    caller: Caller,
    now: datetime,
    first: str | None,
    lang: str | None = None,
    run: int = 0,
) -> str:
    """The turn of a call coming to the questions (the engine goes on with an intake under
    way, says a finished one again, or begins one), after `first` (the NCMEC number)."""
    unsaid = frozenset() if lang else frozenset({"welcome"})  # the greeting was said
    turn = conversations.take_turn(session, line, caller, called(caller.phone, lang), now, unsaid)
    if turn.result.events:
        conversations.keep_messages(session, turn, "(call)", now)
    call = Call(line, caller.lang, turn.case)
    if first:
        call.say_template(first)
    return reply(session, line, turn, call, "menu" if lang else None, run)


# --- one answer -----------------------------------------------------------------------


def turn(
    session: Session, line: Line, phone: str, move: Move, progress: Progress, now: datetime
) -> str:
    """The caller answered the current question (or said nothing)."""
    run = progress.silent
    caller = conversations.lock_caller(session, phone, now)
    key = move.menu_key(_asking(line, caller))  # "9#" at "how old?" is an age; a lone 9 not
    if key is not None:
        return menu_key(session, line, caller, key, now)
    if move.silent:
        run += 1
        if run >= SILENT_CALL:
            call = Call(line, caller.lang, cases.current_case(session, caller))
            call.say_template("silence_end")
            return call.hangup()
        if run % (ASK_AGAIN + 1):
            return to_the_questions(session, line, caller, now, "silence", run=run)
    else:
        run = 0
    return answered(session, line, caller, move, now, run)


def confirm(session: Session, line: Line, phone: str, move: Move, now: datetime) -> str:
    """The answer read back: 1 keeps it; 0 and 9 as everywhere; else it is asked again."""
    caller = conversations.lock_caller(session, phone, now)
    key = move.menu_key()
    if key is not None:
        return menu_key(session, line, caller, key, now)
    return answered(session, line, caller, move, now, 0)


def _asking(line: Line, caller: Caller) -> engine.Step | None:
    """The question the caller's keys answer (read only: "9#" is an age, a lone 9 is not)."""
    state = engine.State.from_dict(caller.state)
    return line.flow.step(state.step) if state.status == engine.ACTIVE else None


def menu_key(session: Session, line: Line, caller: Caller, key: str, now: datetime) -> str:
    """0: ring a person; 9: the NCMEC number, then the question again."""
    if key == KEYS["person"]:
        return ask_for_person(session, line, caller, now)
    return to_the_questions(session, line, caller, now, "ncmec_again")


def answered(
    session: Session, line: Line, caller: Caller, move: Move, now: datetime, run: int
) -> str:
    """The one turn for what the caller keyed, said or left unsaid; then what comes next."""
    turn = conversations.take_turn(session, line, caller, move.inbound(caller.phone), now)
    if not move.silent:
        conversations.keep_messages(session, turn, move.text, now)
    return reply(session, line, turn, Call(line, caller.lang, turn.case), None, run)


# --- the reply ------------------------------------------------------------------------


def reply(
    session: Session,
    line: Line,
    turn: conversations.Turn,
    call: Call,
    before_question: str | None,
    run: int,
) -> str:
    """Say this turn's replies, the last one as a question the caller can answer (with a
    template said just before it, such as the menu in a language just chosen)."""
    state = turn.result.state
    texts = turn.texts or []
    for text in texts[:-1]:
        call.say(text)
    lead = [call.words(before_question)] if before_question else []
    if state.pending and state.pending.get("kind") == engine.CONFIRM_HEARD:
        return read_back(call, lead + texts[-1:])
    if state.status == engine.ACTIVE:
        templates = {r.template for r in turn.result.replies}
        entry = bool(templates & NUMBER_ENTRY)  # the callback number itself
        return ask(line, call, state, run, said=lead + texts[-1:], number_entry=entry)
    if state.status == engine.COMPLETE:
        return end_menu(session, line, turn.caller, turn.case, call, said=lead + texts[-1:])
    for text in texts[-1:]:
        call.say(text)
    call.say_template("goodbye")
    return call.hangup()


def read_back(call: Call, said: list[str]) -> str:
    check = call.gather(CONFIRM, engine.CHOICE, timeout=5)
    for text in said:
        call.say(text, check)
    call.redirect(CONFIRM)
    return str(call)


def ask(
    line: Line, call: Call, state: engine.State, run: int, said: list[str], number_entry: bool
) -> str:
    """Ask the current question in a Gather suited to its answer (what is said inside it,
    so its keys count); silence comes back. `number_entry`: the callback number itself,
    keyed in and ended with #, after the caller pressed 2 for another."""
    step = line.flow.step(state.step)
    options = hints(step.key, call.lang)
    if step.key == CALLBACK and not number_entry:
        options |= CALLBACK_CHOICE
    gather = call.gather(TURN, step.answer, **options)
    for text in said:
        call.say(text, gather)
    call.redirect(Progress(silent=run).question_url())
    return str(call)


def hints(step_key: str, lang: str) -> dict[str, str]:
    """Words speech recognition should expect for a question (ages, times), in the call's
    language and spelled as said (año, mañana: templates/voice/hints.toml); none where
    free speech is wanted."""
    expected = words.speech_hints(lang).get(step_key, ())[:MAX_HINTS]
    return {"hints": ", ".join(expected)} if expected else {}


# --- the end of the intake ------------------------------------------------------------


def end_menu(
    session: Session,
    line: Line,
    caller: Caller,
    case: Case | None,
    call: Call,
    said: list[str],
) -> str:
    """The summary (case number, NCMEC again: the turn's words), then its keys: 1
    checklist, 2 photo text, 0 person (only what is left to offer)."""
    gather = call.gather(END, engine.CHOICE, timeout=6)
    for text in said:
        call.say(text, gather)
    call.say_template("end_options", gather, **_offers_left(session, line, caller, case))
    call.redirect(END)  # silence: goodbye
    return str(call)


def end(session: Session, line: Line, phone: str, move: Move, now: datetime) -> str:
    """At the end: 1 the follow-up texts, 2 a text asking for a photo, 9 the summary and
    the NCMEC number again, 0 a person; anything else, goodbye."""
    caller = conversations.lock_caller(session, phone, now)
    if move.digits == KEYS["person"]:
        return ask_for_person(session, line, caller, now)
    if move.digits == KEYS["ncmec"]:
        return to_the_questions(session, line, caller, now, "ncmec_again")
    case = cases.current_case(session, caller)
    call = Call(line, caller.lang, case)
    if move.digits not in ("1", "2"):
        call.say_template("goodbye")
        return call.hangup()
    choice = {"1": engine.CHECKLIST, "2": engine.PHOTO}[move.digits]
    if case is not None and (choice == engine.PHOTO or followups.planned(line.settings, caller)):
        turn = conversations.take_turn(session, line, caller, offer(caller.phone, choice), now)
        for text in turn.texts or []:
            call.say(text)
    return more(session, line, caller, case, call)


def more(session: Session, line: Line, caller: Caller, case: Case | None, call: Call) -> str:
    """After a text was sent: offer only what is left, not the whole summary again."""
    gather = call.gather(END, engine.CHOICE, timeout=6)
    call.say_template("end_options", gather, **_offers_left(session, line, caller, case))
    call.redirect(END)
    return str(call)


def _offers_left(session: Session, line: Line, caller: Caller, case: Case | None) -> dict:
    """Whether the checklist and the photo request can still be asked for."""
    kinds = set() if case is None else outbox.kinds_for_case(session, case.id)
    planned = followups.planned(line.settings, caller)
    return {
        "offer_checklist": planned and followups.KIND not in kinds,
        "offer_photo": PHOTO_REQUEST not in kinds,
    }
