"""The voice adapter: what only a phone call knows, around the one channel-neutral turn.

A call speaks the safety words inside its first Gather, so a key pressed while they are
said counts: the danger line, then the other language offered in its own voice (2), then
the rest, then a person (0) and the NCMEC number again (9). Then the intake's questions:
keypad where a step is yes/no, a choice or a number, speech for the rest, a
low-confidence answer read back. 0 and 9 pressed alone work at every question: where the
answer is a number keyed and ended with # (how old?), "9#" is a 9-year-old and a lone 9
(Twilio's FinishedOnKey is empty) is still the NCMEC number. Silence asks again twice,
then passes the question over; a call that stays silent ends with the police instruction
and the NCMEC number once more. Every Gather is followed by a Redirect, so silence moves
the call on. TwiML only from VoiceResponse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from flows import engine
from intake import cases, conversations, followups, oncall, outbox, roster, staff, webhooks, words
from intake.domain import AlertReason, CaseStatus, Medium, OutboxKind
from intake.logs import event as log_event
from intake.models import Caller, Case, CaseMedia
from intake.office import office_open

if TYPE_CHECKING:
    from intake.line import Line

BASE = webhooks.VOICE_PATH
MENU, TURN, CONFIRM, END = f"{BASE}/menu", f"{BASE}/turn", f"{BASE}/confirm", f"{BASE}/end"
PERSON, WHISPER, VOICEMAIL = f"{BASE}/person", f"{BASE}/whisper", f"{BASE}/voicemail"
FALLBACK_PERSON, OFFICE = f"{BASE}/fallback/person", f"{BASE}/office"
VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Lupe", "es-US")}
SURE = 0.5  # speech heard with less confidence than this is read back
ASK_AGAIN = 2  # silences on one question before it is passed over
SILENT_CALL = 6  # silences in a row before a silent call ends
RING_SECONDS = 20  # each on-call person rings this long
MAX_HINTS = 100  # Twilio takes up to 500 hint phrases; a short list helps more
VOICEMAIL_SECONDS = 120
PENDING = "heard"  # Caller.state key: speech waiting for the caller to confirm it
HUNG_UP = AlertReason.HUNG_UP  # an alert's reason: the caller hung up during the intake
PHOTO_REQUEST = OutboxKind.PHOTO_REQUEST  # a text asking a caller for a photo
KEYS = {"person": "0", "ncmec": "9", "language": "2"}
MENU_KEYS = (KEYS["person"], KEYS["ncmec"])  # pressed alone, at any question
OTHER_LANGUAGE = {"en": "es", "es": "en"}  # what 2 switches to at the greeting
# How a Gather listens for each kind of answer. One key ends a choice; a number ends with
# # (or a pause); speech also takes one key, so 0 and 9 work on every question.
KEYPAD = {"input": "dtmf", "num_digits": 1}
SPOKEN = {"input": "dtmf speech", "speech_timeout": "auto"}
# The callback question on a call is one key first (1: this number, 2: another), so a 1
# goes at once; 2 asks for the number, keyed in and ended with #.
CALLBACK = "callback_phone"
OTHER_NUMBER = "2"
CALLBACK_CHOICE = SPOKEN | {"num_digits": 1}
LISTEN = {
    engine.YES_NO: SPOKEN | {"num_digits": 1},  # "no, they said wait 24 hours" is heard
    engine.CHOICE: KEYPAD,
    engine.DIGITS: SPOKEN | {"finish_on_key": "#"},
    engine.SPEECH: SPOKEN | {"num_digits": 1},
    engine.MEDIA: KEYPAD,
}


@dataclass(frozen=True)
class Move:
    """What the caller did at a Gather: keys, speech (with Twilio's confidence) or nothing."""

    digits: str = ""
    speech: str = ""
    confidence: float = 1.0
    finished_on_key: str = ""  # the key that ended the Gather ("#"), empty on a pause

    def menu_key(self, step: engine.Step | None = None) -> str | None:
        """0 (a person) or 9 (the NCMEC number) pressed alone; at a question answered with
        a number, one ended with # is the answer ("9#": nine years old)."""
        if self.digits not in MENU_KEYS:
            return None
        if step is not None and step.answer == engine.DIGITS and self.finished_on_key == "#":
            return None
        return self.digits

    @property
    def silent(self) -> bool:
        return not self.digits and not self.speech

    @property
    def text(self) -> str:
        return self.digits or self.speech


class Call:
    """The TwiML of one answer to Twilio, in the caller's language."""

    def __init__(self, line: Line, lang: str, case: Case | None = None):
        self.line, self.lang, self.case = line, lang, case
        self.response = VoiceResponse()

    def words(self, template: str, **params) -> str:
        case = self.case
        return words.render(
            template,
            self.lang,
            channel=Medium.VOICE,
            org=self.line.settings.org_name,
            ref=case.ref if case else "",
            child_name=(case.child_name or "") if case else "",
            **params,
        )

    def say(self, text: str, into=None, lang: str | None = None) -> None:
        voice, language = VOICES.get(lang or self.lang, VOICES["en"])
        (into or self.response).say(text, voice=voice, language=language)

    def say_template(self, template: str, into=None, **params) -> None:
        self.say(self.words(template, **params), into)

    def gather(self, action: str, hint: str = engine.SPEECH, **options) -> Gather:
        """A Gather that listens as the step is best answered; silence goes on to the
        Redirect after it."""
        listen = LISTEN[hint] | options
        language = VOICES.get(self.lang, VOICES["en"])[1]
        return self.response.gather(action=action, method="POST", language=language, **listen)

    def redirect(self, url: str) -> None:
        self.response.redirect(url, method="POST")

    def hangup(self) -> str:
        self.response.hangup()
        return str(self.response)

    def __str__(self) -> str:
        return str(self.response)


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
    offer = words.render("language_offer", other, channel=Medium.VOICE)
    call.say(offer, into, lang=other)


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
    return start_or_resume(session, line, caller, now, lang, again=move.digits == KEYS["ncmec"])


def start_or_resume(
    session: Session,
    line: Line,
    caller: Caller,
    now: datetime,
    lang: str | None = None,
    again: bool = False,
) -> str:
    """Go on with the intake under way (begun by text or an earlier call), or begin one:
    a call is a new report unless an intake is under way or a case is open."""
    case = cases.current_case(session, caller)
    _pass_over_what_a_call_cannot_ask(session, line, caller, case, now)
    state = engine.State.from_dict(caller.state)
    lang = lang if lang != state.lang else None
    if state.status != engine.ACTIVE and case is not None and case.status == CaseStatus.OPEN:
        call = Call(line, caller.lang, case)
        if again:
            call.say_template("ncmec_again")
        return end_menu(session, line, caller, case, call)
    if state.status == engine.ACTIVE and lang is None:
        return ask_again(session, line, caller, case, "ncmec_again" if again else None)
    if state.status != engine.ACTIVE:
        caller.state = engine.State(lang=state.lang).to_dict()
    said_already = frozenset() if lang else frozenset({"welcome"})  # the greeting was said
    inbound = engine.Inbound(sender=caller.phone, channel=Medium.VOICE, lang=lang)
    turn = conversations.take_turn(session, line, caller, inbound, now, said_already)
    call = Call(line, caller.lang, turn.case)
    if again:
        call.say_template("ncmec_again")
    conversations.keep_messages(session, turn, "(call)", now)
    menu_again = "menu" if lang else None  # the menu, in the language just chosen
    return next_question(session, line, turn, call, menu_again)


def _pass_over_what_a_call_cannot_ask(
    session: Session, line: Line, caller: Caller, case: Case | None, now: datetime
) -> None:
    """An intake begun by text may stand at the photo question, which a call skips."""
    state = engine.State.from_dict(caller.state)
    step = line.flow.step(state.step) if state.status == engine.ACTIVE else None
    if step is not None and not step.asked(state.answers, "voice"):
        result = engine.pass_over(line.flow, state, "voice", quietly=True)
        conversations.apply(session, line, caller, case, result, now, "voice")
        caller.state = result.state.to_dict()


# --- one answer -----------------------------------------------------------------------


def turn(
    session: Session, line: Line, phone: str, move: Move, silent_run: int, now: datetime
) -> str:
    """The caller answered the current question (or said nothing)."""
    caller = conversations.lock_caller(session, phone, now)
    state = engine.State.from_dict(caller.state)
    step = line.flow.step(state.step) if state.status == engine.ACTIVE else None
    key = move.menu_key(step)  # "9#" at "how old?" is an age; a lone 9, the number
    if key is not None:
        return menu_key(session, line, caller, key, now)
    if move.silent:
        return silence(session, line, caller, silent_run + 1, now)
    if step and step.key == CALLBACK and move.digits == OTHER_NUMBER:
        case = cases.current_case(session, caller)
        return ask(line, Call(line, caller.lang, case), state, 0, number_entry=True)
    if move.speech and move.confidence < SURE and step and step.answer == engine.SPEECH:
        caller.state = {**caller.state, PENDING: move.speech}
        return read_back(line, caller, cases.current_case(session, caller), move.speech)
    return answered(session, line, caller, move.text, now)


def menu_key(session: Session, line: Line, caller: Caller, key: str, now: datetime) -> str:
    """0: ring a person; 9: the NCMEC number, then the question again."""
    if key == KEYS["person"]:
        return ask_for_person(session, line, caller, now)
    case = cases.current_case(session, caller)
    return ask_again(session, line, caller, case, "ncmec_again")


def answered(session: Session, line: Line, caller: Caller, text: str, now: datetime) -> str:
    """Run the turn for what the caller said or keyed, and ask what comes next."""
    inbound = engine.Inbound(text=text, sender=caller.phone, channel=Medium.VOICE)
    turn = conversations.take_turn(session, line, caller, inbound, now)
    conversations.keep_messages(session, turn, text, now)
    return next_question(session, line, turn, Call(line, caller.lang, turn.case))


def confirm(session: Session, line: Line, phone: str, move: Move, now: datetime) -> str:
    """1: the answer read back was right; 0 and 9 as everywhere; else ask again."""
    caller = conversations.lock_caller(session, phone, now)
    heard = (caller.state or {}).get(PENDING)
    caller.state = {k: v for k, v in (caller.state or {}).items() if k != PENDING}
    key = move.menu_key()
    if key is not None:
        return menu_key(session, line, caller, key, now)
    if move.digits == "1" and heard:
        return answered(session, line, caller, heard, now)
    return ask_again(session, line, caller, cases.current_case(session, caller))


def read_back(line: Line, caller: Caller, case: Case | None, heard: str) -> str:
    call = Call(line, caller.lang, case)
    check = call.gather(CONFIRM, engine.CHOICE, timeout=5)
    call.say_template("heard", check, heard=heard)
    call.redirect(CONFIRM)
    return str(call)


def silence(session: Session, line: Line, caller: Caller, run: int, now: datetime) -> str:
    """Nothing was heard: ask again twice, then pass the question over; a call silent for
    long ends with the safety words once more."""
    case = cases.current_case(session, caller)
    if run >= SILENT_CALL:
        call = Call(line, caller.lang, case)
        call.say_template("silence_end")
        return call.hangup()
    if run % (ASK_AGAIN + 1):
        return ask_again(session, line, caller, case, "silence", run)
    state = engine.State.from_dict(caller.state)
    result = engine.pass_over(line.flow, state, "voice")
    turn = conversations.apply(session, line, caller, case, result, now, "voice")
    caller.state = result.state.to_dict()
    call = Call(line, caller.lang, turn.case)
    call.say_template("moving_on")
    if result.state.status != engine.ACTIVE:
        return end_menu(session, line, caller, turn.case, call)
    return ask(line, call, result.state, run)


# --- asking ---------------------------------------------------------------------------


def next_question(
    session: Session,
    line: Line,
    turn: conversations.Turn,
    call: Call,
    before_question: str | None = None,
) -> str:
    """Say this turn's replies, the last one as a question the caller can answer (with a
    template said just before it, such as the menu in a language just chosen)."""
    state = turn.result.state
    texts = turn.texts or []
    for text in texts[:-1]:
        call.say(text)
    lead = [call.words(before_question)] if before_question else []
    if state.status == engine.ACTIVE:
        templates = [reply.template for reply in turn.result.replies]
        entry = "retry_callback_number" in templates  # no caller ID: the number itself
        return ask(line, call, state, 0, said=texts[-1:], lead=lead, number_entry=entry)
    if state.status == engine.COMPLETE:
        return end_menu(session, line, turn.caller, turn.case, call, said=lead + texts[-1:])
    for text in texts[-1:]:
        call.say(text)
    call.say_template("goodbye")
    return call.hangup()


def ask(
    line: Line,
    call: Call,
    state: engine.State,
    run: int,
    said: list[str] | None = None,
    lead: list[str] | None = None,
    number_entry: bool = False,
) -> str:
    """Ask the current question in a Gather suited to its answer (after `lead`, said in
    the same Gather so its keys count); silence comes back. `number_entry`: the callback
    number itself, keyed in and ended with #, after the caller pressed 2 for another."""
    step = line.flow.step(state.step)
    options = hints(step.key, call.lang)
    if step.key == CALLBACK and not number_entry:
        options |= CALLBACK_CHOICE
    gather = call.gather(TURN, step.answer, **options)
    if number_entry and not said:
        said = [call.words("ask_callback_number")]
    for text in (lead or []) + (said or [call.words(step.prompt)]):
        call.say(text, gather)
    call.redirect(f"{TURN}?silent={run}")
    return str(call)


def hints(step_key: str, lang: str) -> dict[str, str]:
    """Words speech recognition should expect for a question (ages, times), in the call's
    language and spelled as said (año, mañana: templates/voice/hints.toml); none where
    free speech is wanted."""
    expected = words.speech_hints(lang).get(step_key, ())[:MAX_HINTS]
    return {"hints": ", ".join(expected)} if expected else {}


def ask_again(
    session: Session,
    line: Line,
    caller: Caller,
    case: Case | None,
    first: str | None = None,
    run: int = 0,
) -> str:
    """Say something (silence, the NCMEC number) and ask the current question again."""
    call = Call(line, caller.lang, case)
    if first:
        call.say_template(first)
    state = engine.State.from_dict(caller.state)
    if state.status != engine.ACTIVE:
        return end_menu(session, line, caller, case, call)
    return ask(line, call, state, run)


# --- the end of the intake ------------------------------------------------------------


def end_menu(
    session: Session,
    line: Line,
    caller: Caller,
    case: Case | None,
    call: Call,
    said: list[str] | None = None,
) -> str:
    """The summary (case number, NCMEC again), then its keys: 1 checklist, 2 photo text,
    0 person (only what is left to offer)."""
    gather = call.gather(END, engine.CHOICE, timeout=6)
    if said:
        for text in said:
            call.say(text, gather)
    else:
        police = case.police_called if case else None
        offer = followups.planned(line.settings, caller)
        card = followups.can_take_texts(caller)
        call.say_template("summary", gather, police_called=police, followups=offer, card=card)
    call.say_template("end_options", gather, **_offers_left(session, line, caller, case))
    call.redirect(END)  # silence: goodbye
    return str(call)


def end(session: Session, line: Line, phone: str, move: Move, now: datetime) -> str:
    """At the end: 1 starts the follow-up texts, 2 texts a request for a photo, 0 a person."""
    caller = conversations.lock_caller(session, phone, now)
    case = cases.current_case(session, caller)
    call = Call(line, caller.lang, case)
    if move.digits == KEYS["person"]:
        return ask_for_person(session, line, caller, now)
    if case is not None and move.digits == "1" and followups.planned(line.settings, caller):
        followups.schedule(session, line.settings, case, caller, now)
        call.say_template("checklist_sent", minutes=followups.first_wait_minutes(line.settings))
    elif case is not None and move.digits == "2":
        _text_photo_request(session, caller, case, now)
        call.say_template("photo_text_sent")
    elif move.digits == KEYS["ncmec"]:
        call.say_template("ncmec_again")
    if move.digits == KEYS["ncmec"]:
        return end_menu(session, line, caller, case, call)
    if move.digits in ("1", "2"):
        return more(session, line, caller, case, call)
    call.say_template("goodbye")
    return call.hangup()


def more(session: Session, line: Line, caller: Caller, case: Case | None, call: Call) -> str:
    """After a text was sent: offer only what is left, not the whole summary again."""
    gather = call.gather(END, engine.CHOICE, timeout=6)
    offers = _offers_left(session, line, caller, case)
    call.say_template("end_options", gather, **offers)
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
    )


# --- reaching a person ----------------------------------------------------------------


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
        action=f"{PERSON}/done?n={n}",
        method="POST",
        timeout=RING_SECONDS,
        caller_id=caller_id,
    )
    dialling.number(numbers[n], url=f"{WHISPER}?case={case.id}", method="POST")
    log_event("voice.dial", case=case.ref, n=n)
    return str(call)


def person_done(
    session: Session, line: Line, phone: str, status: str, n: int, now: datetime
) -> str:
    """The Dial ended: talked (goodbye), or the next person, or a voicemail."""
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
    inbound = engine.Inbound(sender=caller.phone, channel=Medium.VOICE)
    turn = conversations.take_turn(session, line, caller, inbound, now)
    return turn.case


# --- the end of a call ----------------------------------------------------------------


def ended(session: Session, line: Line, phone: str, now: datetime) -> None:
    """The call ended. An intake left half done wakes someone: a hang-up may mean danger."""
    caller = conversations.lock_caller(session, phone, now)
    case = cases.current_case(session, caller)
    if case is not None and case.status == CaseStatus.INTAKE:
        oncall.start_alert(session, line, case, HUNG_UP, now)
        log_event("voice.hung_up", case=case.ref)


def fallback(line: Line, lang: str = "en") -> str:
    """With the database down: the safety words from memory, and 0 for the fallback number."""
    call = Call(line, lang)
    call.say(line.spoken_fallback.get(lang, line.spoken_fallback["en"]))
    if line.settings.fallback_alert_number:
        call.gather(FALLBACK_PERSON, engine.CHOICE, timeout=5)
        call.redirect(FALLBACK_PERSON)
        return str(call)
    call.say_template("goodbye")
    return call.hangup()


def fallback_person(line: Line, digits: str) -> str:
    """Database down: 0 rings the fallback number; anything else, goodbye."""
    call = Call(line, "en")
    number = line.settings.fallback_alert_number
    if number and digits == KEYS["person"]:
        call.say_template("connecting")
        call.response.dial(number, timeout=RING_SECONDS * 2)
    call.say_template("goodbye")
    return call.hangup()
