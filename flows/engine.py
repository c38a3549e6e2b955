"""The conversation engine: pure functions from (flow, state, inbound) to a result.

A flow is data: an ordered tuple of steps. The engine checks global keywords first,
then hands the inbound message to the current step's parser, and returns the new
state, the replies to render (template names plus parameters) and the events the
service must apply. Nothing here touches a database, Flask or Twilio.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flows import events as ev
from flows import read as rd
from flows.intents import intents, is_new_report
from flows.language import Detector
from flows.parse import parse_yes_no, switch_language
from flows.text import key
from flows.vocabulary import Vocabulary

NEW = "new"  # no intake yet: the next message starts one
ACTIVE = "active"  # asking questions
COMPLETE = "complete"  # intake done; texts attach to the open case
ENDED = "ended"  # child found: only RESTART or a clear new report starts a new intake
CLOSED = "closed"  # staff closed the case lately: texts go to its worker, not a new intake
FINISHED = (ENDED, CLOSED)

MAX_RETRIES = 2  # re-prompts for an unclear answer; the next unclear one is taken as unknown
# Steps where "I don't know" is a fair answer: kept as unknown, and the next question follows.
UNKNOWN_OK = frozenset(
    {"last_seen_when", "last_seen_where", "description", "police_report", "photos"}
)
# Pending questions the line asked in between (a hedged event to confirm, which child).
CONFIRM_FOUND, CONFIRM_CHILD, WHICH_CHILD, OTHER_CHILD, CONFIRM_HEARD = (
    "confirm_found",
    "confirm_child",
    "which_child",
    "other_child",
    "confirm_heard",  # speech heard unsure, read back: the caller keys yes to keep it
)
# What the caller's role means the line must say at once.
ROLE_NOTES = {
    "caseworker": ("note_caseworker_duty",),
    "foster": ("note_foster",),
    "group_home": ("note_group_home",),
}

# How a step is answered best, so a channel can ask to suit (keypad, speech, a picture).
YES_NO, DIGITS, CHOICE, SPEECH, MEDIA = "yes_no", "digits", "choice", "speech", "media"
ANSWERS = (YES_NO, DIGITS, CHOICE, SPEECH, MEDIA)


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


# What a channel adapter turns a webhook into (Inbound.kind): the same turn for every channel.
TEXT = "text"  # a text message (its words and media)
KEYS = "keys"  # keys pressed on a call (their meaning: Inbound.keypad, the adapter's)
SPEECH = "speech"  # words said on a call, as speech recognition heard them
SILENCE = "silence"  # nothing at all at a question: it is passed over as unknown
CALLED = "called"  # a call comes to the questions (begun, resumed, a language chosen)
OFFER = "offer"  # one of the end-of-intake offers taken (Inbound.text: OFFERS)
KINDS = (TEXT, KEYS, SPEECH, SILENCE, CALLED, OFFER)
# The end-of-intake offers a channel makes instead of sending them (Flow.offers_on).
CHECKLIST, PHOTO, SUMMARY = "checklist", "photo", "summary"
OFFERS = (CHECKLIST, PHOTO, SUMMARY)


@dataclass(frozen=True)
class Inbound:
    """One input from the caller, as the channel adapter typed it (see KINDS)."""

    text: str = ""  # what was typed, said (speech) or keyed (digits)
    media: tuple[Media, ...] = ()
    sender: str = ""  # E.164 when the sender is a phone number, else the raw sender id
    lang: str | None = None  # a language the caller chose by key press
    channel: str = field(kw_only=True)  # sms | voice (which steps apply): never assumed
    kind: str = field(default=TEXT, kw_only=True)  # one of KINDS
    unsure: bool = field(default=False, kw_only=True)  # speech heard with low confidence
    # What keys mean on this channel ("yes": {"1"}): the adapter's keypad conventions;
    # only a KEYS input has them, so a texted "1" is never a key.
    keypad: Mapping[str, frozenset[str]] = field(default_factory=dict, kw_only=True)

    def means(self, meaning: str) -> bool:
        """The keys pressed mean this ("yes", "skip", "same_number") by the keypad's rules."""
        return self.kind == KEYS and self.text.strip() in self.keypad.get(meaning, ())


@dataclass(frozen=True)
class Reply:
    """Something to say: a template name; the service fills in case details."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    """Where one caller's conversation stands; stored as JSON between messages."""

    status: str = NEW
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    lang: str = "en"
    retries: int = 0  # re-prompts on the current step for an answer we could not read
    warned: tuple[str, ...] = ()  # languages the safety message was given in
    pending: dict[str, Any] | None = None  # a question asked in between (see CONFIRM_FOUND)
    say_next: tuple[Reply, ...] = ()  # said at the start of the next reply (see _budget)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "step": self.step,
            "answers": dict(self.answers),
            "lang": self.lang,
            "retries": self.retries,
            "warned": list(self.warned),
        }
        if self.pending:
            out["pending"] = dict(self.pending)
        if self.say_next:
            out["say_next"] = [[r.template, dict(r.params)] for r in self.say_next]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        data = data or {}
        status = data.get("status", NEW)
        lang = data.get("lang", "en")
        # a conversation stored before `warned` was kept had its welcome in its language
        warned = data.get("warned", [lang] if status in (ACTIVE, COMPLETE) else [])
        return cls(
            status=status,
            step=data.get("step"),
            answers=dict(data.get("answers") or {}),
            lang=lang,
            retries=int(data.get("retries", 0)),
            warned=tuple(warned),
            pending=dict(data["pending"]) if data.get("pending") else None,
            say_next=tuple(Reply(t, dict(p)) for t, p in data.get("say_next") or ()),
        )


@dataclass(frozen=True)
class Parsed:
    """What a step's parser made of the input: a value, or a re-prompt."""

    value: Any = None
    retry: str | None = None  # template that explains what we need; None means accepted
    notes: tuple[str, ...] = ()  # extra templates to say after accepting or with the retry
    events: tuple[ev.Event, ...] = ()
    remember: dict[str, Any] = field(default_factory=dict)  # kept even when re-asking
    unclear: bool = True  # the retry is because the answer could not be understood


@dataclass(frozen=True)
class Step:
    """One question: the answer key, its prompt template and how to read the answer."""

    key: str
    prompt: str
    parse: Callable[[Inbound, State], Parsed]
    skip_if: Callable[[dict[str, Any]], bool] | None = None
    answer: str = SPEECH  # how it is answered best: one of ANSWERS (a channel asks to suit)
    skip_on: tuple[str, ...] = ()  # channels that never ask it (no photo on a call)
    retry: str | None = None  # asked again after a non-answer ("hmm"); else the prompt

    def asked(self, answers: dict[str, Any], channel: str) -> bool:
        """Whether this step is asked, given the answers so far, on this channel."""
        skipped = self.skip_if is not None and self.skip_if(answers)
        return channel not in self.skip_on and not skipped


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    welcome: str  # the safety message said before the first question
    summary: str  # said when the last step is answered
    vocab: Vocabulary  # the words its parsers recognise
    detect: Detector | None = None  # a language model for short texts (flows.language)
    # Channels that offer the follow-up texts at the end (the caller takes them: OFFER)
    # instead of sending them with the intake's end.
    offers_on: tuple[str, ...] = ()

    def step(self, key: str | None) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)

    def next_step(self, after: str | None, answers: dict[str, Any], channel: str) -> Step | None:
        keys = [s.key for s in self.steps]
        start = 0 if after is None else keys.index(after) + 1
        return next((s for s in self.steps[start:] if s.asked(answers, channel)), None)


@dataclass(frozen=True)
class Result:
    state: State
    replies: tuple[Reply, ...] = ()
    events: tuple[ev.Event, ...] = ()


def run(flow: Flow, state: State, inbound: Inbound) -> Result:
    """Advance one caller's conversation by one inbound message (see _run), keeping each
    reply within budget: what a safety message crowds out is said with the next one."""
    earlier = state.say_next
    result = _run(flow, replace(state, say_next=()) if earlier else state, inbound)
    if earlier:
        result = replace(result, replies=earlier + result.replies)
    return _budget(flow, result)


# Said with the safety message in one reply, it stays: short, or about the safety itself.
# (a role's note is longer in Spanish than the room left: it comes with the next reply)
WITH_WELCOME = frozenset({"help", "opted_in", "language_set", "found"})
# Said again by the safety message itself: left out beside it.
SAID_BY_WELCOME = frozenset({"police_refused"})


def _budget(flow: Flow, result: Result) -> Result:
    """A reply that gives the safety message keeps it and the question after it; notes,
    answers and acknowledgements between them are said at the start of the next reply,
    so no reply grows past three text segments."""
    templates = [r.template for r in result.replies]
    if flow.welcome not in templates or len(templates) < 3:
        return result
    start = templates.index(flow.welcome)
    middle = result.replies[start + 1 : -1]
    kept = [r for r in middle if r.template in WITH_WELCOME]
    later = tuple(r for r in middle if r.template not in WITH_WELCOME | SAID_BY_WELCOME)
    if not later and len(kept) == len(middle):
        return result
    replies = (*result.replies[: start + 1], *kept, result.replies[-1])
    state = replace(result.state, say_next=result.state.say_next + later)
    return replace(result, state=state, replies=replies)


def _run(flow: Flow, state: State, inbound: Inbound) -> Result:
    """Advance one caller's conversation by one inbound message.

    The reply is read once (flows.read): keywords and events that outrank the step come
    first (found, another child, police refusing, a person wanted), then a question the
    line answers, then the step's answer; a switch of language is followed at any time.
    """
    if inbound.kind in (SILENCE, CALLED, OFFER) or _hearing(flow, state, inbound):
        return _on_call(flow, state, inbound)
    if inbound.lang is not None and inbound.lang != state.lang:
        return _switch_language(flow, state, inbound.lang, inbound)
    names = _names(state.answers)
    step = _reading_step(state)
    reading = rd.read(flow.vocab, step, inbound.text, flow.detect, names, state.lang)
    if state.status == NEW and reading.lang in flow.vocab.languages:
        state = replace(state, lang=reading.lang)  # "AYUDA": the first reply in Spanish
    word = _keyword_of(reading)
    if word is not None:
        switched = None
        if state.status != NEW and switch_language(word) is None:
            switched = _follow_language(flow, state, reading)
        if switched is None:
            return _on_keyword(flow, state, word, inbound)
        return _then(switched, _after_welcome(_on_keyword(flow, switched.state, word, inbound)))
    said = intents(flow.vocab, inbound.text)
    if state.status == NEW or (state.status in FINISHED and is_new_report(said)):
        lang = reading.lang if reading.lang in flow.vocab.languages else state.lang
        return _start(flow, state, inbound, lang=lang, reading=reading)
    switched = _follow_language(flow, state, reading)
    if switched is not None:
        following = _read_in(flow, switched.state, inbound, reading)
        return _then(switched, following)
    return _read_in(flow, state, inbound, reading)


def _names(answers: dict[str, Any]) -> tuple[str, ...]:
    """The children's names the conversation knows, each name's words apart too."""
    names = [c.get("name") or "" for c in children_of(answers)] + [answers.get("child_name") or ""]
    whole = [n for n in names if n.strip()]
    first_words = [n.split()[0] for n in whole]
    return tuple(dict.fromkeys(sorted(whole + first_words, key=len, reverse=True)))


def _keyword_of(reading: rd.Reading) -> str | None:
    """The keyword a reply acts as, before anything else: a keyword itself; a plea for a
    person (HELP); a clear "found" (FOUND; it asks which child when that is unclear)."""
    if reading.kind != rd.EVENT:
        return None
    if reading.keyword:
        return reading.event
    if reading.event == rd.PERSON:
        return "help"
    if reading.event == rd.FOUND and not reading.hedged:
        return "found"
    return None


def _reading_step(state: State) -> str | None:
    """The step a reply answers, as flows.read names it."""
    if state.pending:
        return "confirm" if state.pending["kind"] in (CONFIRM_FOUND, CONFIRM_CHILD) else None
    return state.step if state.status == ACTIVE else None


def _read_in(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """A reply that is not a keyword, in the conversation's language."""
    if state.pending:
        resolved = _resolve_pending(flow, state, inbound, reading)
        if resolved is not None:
            return resolved
        state = replace(state, pending=None)
    if state.status in FINISHED:
        return _after_end(flow, state, inbound, reading)
    if reading.kind not in (rd.EVENT, rd.QUESTION):
        if state.status == COMPLETE:
            return _after_intake(flow, state, inbound, reading)
        return _answer(flow, state, inbound, reading)
    if reading.kind == rd.EVENT:
        result = _on_event(flow, state, inbound, reading)
    elif state.status == ACTIVE and state.step == "police_called" and reading.topic == "what_next":
        return _answer(flow, state, inbound, reading)  # "what do I do?": call the police now
    else:
        result = _answer_question(flow, state, reading)
    if state.status == COMPLETE:  # kept on the case for its worker, as every later text
        result = replace(result, events=(ev.CaseMessage(text=inbound.text), *result.events))
    return result


def _after_welcome(result: Result) -> Result:
    """Replies said right after the safety message leave out what it just said."""
    short = tuple(
        replace(r, params={**r.params, "with_welcome": True}) if r.template == "help" else r
        for r in result.replies
    )
    return replace(result, replies=short)


def _then(first: Result, second: Result) -> Result:
    """Two results of one message, said one after the other."""
    return Result(second.state, first.replies + second.replies, first.events + second.events)


def _follow_language(flow: Flow, state: State, reading: rd.Reading) -> Result | None:
    """A text written in another language than the conversation's: speak it from now on,
    and give the safety message in it if the caller has not had it yet."""
    lang = reading.lang
    if lang is None or lang == state.lang or lang not in flow.vocab.languages:
        return None
    changed = replace(state, lang=lang, retries=0)  # not understood: a fresh start in it
    replies: tuple[Reply, ...] = (Reply("language_set"),)
    if state.status == ACTIVE and lang not in state.warned:  # the safety message says it all
        changed = replace(changed, warned=(*state.warned, lang))
        replies = (Reply(flow.welcome),)
    return Result(changed, replies, (ev.LanguageChanged(lang=lang),))


def _start(
    flow: Flow,
    state: State,
    inbound: Inbound,
    lang: str,
    reported: bool = False,
    reading: rd.Reading | None = None,
) -> Result:
    """Begin a new intake: the safety message first, then the first question.

    `reported`: the caller's words already said a child is missing. What the first text
    says of the caller's role or of several children is kept, and the role's note is
    said at once, right after the safety message."""
    first = flow.next_step(None, {}, inbound.channel)
    assert first is not None, "a flow has at least one step"
    answers: dict[str, Any] = {}
    events: list[ev.Event] = [ev.IntakeStarted(lang=lang)]
    notes: tuple[Reply, ...] = ()
    if reported or (reading is not None and reading.missing):
        events.append(ev.ReportedMissing())
    if inbound.media:
        images = _images(inbound.media)
        if images:  # a photo sent first spares the photo question later
            answers["photos"] = images
        events.append(ev.MediaReceived(media=inbound.media))
    if reading is not None:
        notes = _take_role(answers, reading, events)
        if reading.several:
            answers["children"] = [_child(), _child()]
            events.append(ev.AnswerGiven(key="children", value=answers["children"]))
        if reading.event == rd.POLICE_REFUSED:
            notes += _police_refused(answers, events)
        if reading.kind == rd.QUESTION:  # "who is this?" as a first text
            notes += (Reply(f"answer_{reading.topic}", {"done": False}),)
    new = State(status=ACTIVE, step=first.key, answers=answers, lang=lang, warned=(lang,))
    replies = (Reply(flow.welcome), *notes, Reply(first.prompt))
    return Result(new, replies, tuple(events))


def _take_role(answers: dict[str, Any], reading: rd.Reading, events: list) -> tuple[Reply, ...]:
    """Who the caller said they are, taken the first time it shows: its note at once."""
    role = reading.role
    if role is None or answers.get("relationship") or answers.get("role_unclear"):
        return ()
    if role == "unclear":
        answers["role_unclear"] = True
        return ()
    answers["relationship"] = role
    events.append(ev.AnswerGiven(key="relationship", value=role))
    return tuple(Reply(n) for n in ROLE_NOTES.get(role, ()))


def _child(name: str | None = None, age_months: int | None = None) -> dict[str, Any]:
    return {"name": name, "age_months": age_months, "found": False}


def _answer(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    step = flow.step(state.step)
    if step is None:  # the flow changed under a stored conversation: start over safely
        return _start(flow, state, inbound, lang=state.lang)
    answers = dict(state.answers)
    events: list[ev.Event] = [ev.ReportedMissing()] if reading.missing else []
    role_notes = _take_role(answers, reading, events) if step.key != "relationship" else ()
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
        images = _images(inbound.media)
        if images and step.key != "photos":  # a photo sent early spares the photo question
            # (a photo step passed over holds None: the late photo is kept all the same)
            answers["photos"] = list(answers.get("photos") or []) + images
    if reading.kind == rd.NON_ANSWER and not (inbound.media and step.key == "photos"):
        return _non_answer(flow, state, step, answers, reading, events, role_notes, inbound)
    parsed = step.parse(inbound, replace(state, answers=answers))
    events.extend(parsed.events)
    answers.update(parsed.remember)
    if parsed.retry is not None and parsed.unclear and state.retries >= MAX_RETRIES:
        # Asked too often: take the answer as unknown so the caller is never trapped;
        # the words are kept for a person to read, and the next question follows.
        answers[f"{step.key}_unparsed"] = inbound.text
        parsed = Parsed(value=None, notes=("moving_on",))
    if parsed.retry is not None:
        notes = role_notes + tuple(Reply(n) for n in parsed.notes)
        retries = state.retries + 1 if parsed.unclear else state.retries
        new = replace(state, answers=answers, retries=retries)
        return Result(new, notes + (Reply(parsed.retry),), tuple(events))
    notes = role_notes + tuple(Reply(n) for n in parsed.notes)
    return _accept(flow, state, step, answers, parsed.value, notes, events, inbound.channel)


def _non_answer(
    flow: Flow,
    state: State,
    step: Step,
    answers: dict[str, Any],
    reading: rd.Reading,
    events: list[ev.Event],
    notes: tuple[Reply, ...],
    inbound: Inbound,
) -> Result:
    """ "hmm", "ok", "idk": nothing is kept as a fact. "I don't know" is taken as unknown
    where that is a fair answer; otherwise the question is asked again, and after
    MAX_RETRIES the step is passed over as unknown."""
    if (reading.unknown and step.key in UNKNOWN_OK) or state.retries >= MAX_RETRIES:
        said = notes if reading.unknown else notes + (Reply("moving_on"),)
        return _accept(flow, state, step, answers, None, said, events, inbound.channel)
    new = replace(state, answers=answers, retries=state.retries + 1)
    return Result(new, notes + (Reply(step.retry or step.prompt),), tuple(events))


def _answer_question(flow: Flow, state: State, reading: rd.Reading) -> Result:
    """A question to the line: a short true answer, then the question again."""
    params = {"done": state.status != ACTIVE}
    reply = Reply(f"answer_{reading.topic}", params)
    answers = dict(state.answers)
    events: list[ev.Event] = []
    notes = _take_role(answers, reading, events)
    again = _ask_again(flow, state)
    return Result(replace(state, answers=answers), (reply, *notes, *again), tuple(events))


def _ask_again(flow: Flow, state: State) -> tuple[Reply, ...]:
    """The question the conversation is at, if any (after an answer, note or event)."""
    if state.pending:
        return (_pending_prompt(state.pending),)
    step = flow.step(state.step) if state.status == ACTIVE else None
    return (Reply(step.prompt),) if step else ()


# --- events that outrank the step ------------------------------------------------------


def _on_event(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """Found, another child, police refusing, a person wanted: before the step's answer."""
    if reading.event == rd.FOUND:
        if reading.hedged:
            return _ask_pending(flow, state, {"kind": CONFIRM_FOUND}, inbound)
        return _found(flow, state, inbound)
    if reading.event == rd.ANOTHER_CHILD:
        child = reading.children[0] if reading.children else rd.Child()
        pending = {"kind": CONFIRM_CHILD, "name": child.name, "age_months": child.age_months}
        if reading.hedged:
            return _ask_pending(flow, state, pending, inbound)
        return _add_child(flow, state, inbound, child.name, child.age_months)
    if reading.event == rd.POLICE_REFUSED:
        return _on_police_refused(flow, state, inbound)
    if reading.event == rd.ROLE:
        return _on_role(flow, state, inbound, reading)
    return _keyword_result(flow, state, "help", inbound)  # a person wanted


def _on_role(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """The caller says who they are instead of answering: the role's note, then the
    question again. Said once the role is known, it is read as an answer."""
    answers = dict(state.answers)
    if answers.get("relationship") and state.status == ACTIVE:
        return _answer(flow, state, inbound, replace(reading, kind=rd.ANSWER, event=None))
    events: list[ev.Event] = []
    notes = _take_role(answers, reading, events)
    new = replace(state, answers=answers)
    return Result(new, (*notes, *_ask_again(flow, new)), tuple(events))


def _ask_pending(flow: Flow, state: State, pending: dict[str, Any], inbound: Inbound) -> Result:
    """Ask something in between (confirm, which child); the step waits."""
    events: tuple[ev.Event, ...] = ()
    if inbound.media:
        events = (ev.MediaReceived(media=inbound.media),)
    new = replace(state, pending=pending)
    return Result(new, (_pending_prompt(pending),), events)


def _pending_prompt(pending: dict[str, Any]) -> Reply:
    kind = pending["kind"]
    if kind == WHICH_CHILD:
        return Reply("ask_which_child", {"missing_names": pending.get("names", [])})
    if kind == CONFIRM_HEARD:
        return Reply("heard", {"heard": pending.get("heard", "")})
    return Reply(f"ask_{kind}", {"name": pending.get("name")})


def _resolve_pending(
    flow: Flow, state: State, inbound: Inbound, reading: rd.Reading
) -> Result | None:
    """The reply to a question asked in between, or None when the reply is about
    something else (it is then read as usual and the question is dropped)."""
    pending = state.pending or {}
    kind = pending["kind"]
    cleared = replace(state, pending=None)
    if kind in (CONFIRM_FOUND, CONFIRM_CHILD):
        answer = parse_yes_no(flow.vocab, inbound.text)  # "si ya esta aqui": a yes
        if answer is None and reading.kind == rd.EVENT and not reading.hedged:
            return None
        if answer is None and reading.event == rd.FOUND and kind == CONFIRM_FOUND:
            return _ask_pending(flow, state, pending, inbound)  # still unsure: ask again
        if answer is None:
            return _unanswered(flow, state, inbound, reading, pending)
        if not answer:
            return Result(cleared, (Reply("not_confirmed"), *_ask_again(flow, cleared)))
        if kind == CONFIRM_FOUND:
            return _found(flow, cleared, inbound)
        return _add_child(flow, cleared, inbound, pending.get("name"), pending.get("age_months"))
    if kind == WHICH_CHILD:
        return _which_child(flow, state, inbound, reading)
    if reading.kind == rd.QUESTION:  # answered, and the question in between asked again
        return _answer_question(flow, state, reading)
    if kind == OTHER_CHILD:
        if reading.kind == rd.EVENT:
            return None
        return _other_child_details(flow, cleared, inbound, reading, pending)
    return None


def _unanswered(
    flow: Flow, state: State, inbound: Inbound, reading: rd.Reading, pending: dict[str, Any]
) -> Result | None:
    """No yes or no to a question asked in between: a question is answered and it is
    asked again; anything else ("i think so", "hmm") asks it once more, then the reply is
    read as usual (None)."""
    if reading.kind == rd.QUESTION:
        return _answer_question(flow, state, reading)
    if reading.kind == rd.EVENT or pending.get("asked_again"):
        return None
    return _ask_pending(flow, state, {**pending, "asked_again": True}, inbound)


# --- several children ---------------------------------------------------------------------


def children_of(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's children (the first is the one the questions are about), when it knows
    of more than one; else an empty list."""
    return [dict(c) for c in answers.get("children") or []]


def _with_first_child(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The children list, started from the child the questions are about."""
    children = children_of(answers)
    if not children:
        children = [_child(answers.get("child_name"), answers.get("age_months"))]
    return children


def _add_child(
    flow: Flow, state: State, inbound: Inbound, name: str | None, age_months: int | None
) -> Result:
    """Another child is missing: added to this report at once; the line asks its name
    and age when the text did not say them, then goes on where it was."""
    answers = dict(state.answers)
    children = _with_first_child(answers)
    placeholder = next((c for c in children[1:] if not c.get("name")), None)
    if placeholder is not None and name:
        placeholder.update(name=name, age_months=age_months)
    elif placeholder is None or name:
        children.append(_child(name, age_months))
    answers["children"] = children
    events: list[ev.Event] = [ev.AnswerGiven(key="children", value=children)]
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    new = replace(state, answers=answers)
    said = Reply("another_child", {"name": name, "count": len(children)})
    if not name:
        pending = {"kind": OTHER_CHILD, "index": len(children) - 1}
        answers["asked_other"] = sorted({*answers.get("asked_other", []), len(children) - 1})
        return Result(
            replace(new, pending=pending), (said, _pending_prompt(pending)), tuple(events)
        )
    return Result(new, (said, *_ask_again(flow, new)), tuple(events))


def _other_child_details(
    flow: Flow, state: State, inbound: Inbound, reading: rd.Reading, pending: dict[str, Any]
) -> Result:
    """The other child's name and age, as asked ("Eli, 4"); unknown stays unknown."""
    answers = dict(state.answers)
    children = _with_first_child(answers)
    index = min(int(pending.get("index", len(children) - 1)), len(children) - 1)
    if reading.kind == rd.ANSWER:
        name, age = _name_and_age(flow.vocab, inbound.text)
        known_age = children[index].get("age_months")
        children[index].update(
            name=name or children[index].get("name"), age_months=age or known_age
        )
    answers["asked_other"] = sorted({*answers.get("asked_other", []), index})
    answers["children"] = children
    new = replace(state, answers=answers)
    events = (ev.AnswerGiven(key="children", value=children),)
    return Result(new, (Reply("child_added"), *_ask_again(flow, new)), events)


def _name_and_age(vocab: Vocabulary, text: str) -> tuple[str | None, int | None]:
    """ "Eli, 4", "Eli hes 4", "se llama Ana y tiene 5": the name first, the age in it."""
    if rd.is_not_a_name(vocab, text):  # "around 6pm": no name, and no age either
        return None, None
    age = rd.parse_age_months(vocab, text)
    named = rd.other_children(vocab, text)[0].name
    if named:
        return named, age
    words = [w for w in text.replace(",", " ").split() if any(c.isalpha() for c in w)]
    known = vocab.reading.not_names | frozenset(vocab.age_units)
    name_words = [w for w in words if key(w) not in known][:2]
    return (" ".join(name_words) or None), age


def _found(flow: Flow, state: State, inbound: Inbound) -> Result:
    """A clear "found": the case ends, unless it has several children still missing and
    the text does not say which is found (then the line asks)."""
    children = children_of(state.answers)
    missing = [i for i, c in enumerate(children) if not c.get("found")]
    if len(missing) <= 1:
        return _all_found(state)
    which = _children_named(flow.vocab, inbound.text, children, missing)
    if which is None:
        names = [children[i].get("name") or "" for i in missing]
        return _ask_pending(flow, state, {"kind": WHICH_CHILD, "names": names}, inbound)
    return _found_these(flow, state, inbound, which)


def _children_named(
    vocab: Vocabulary, text: str, children: list[dict[str, Any]], missing: list[int]
) -> list[int] | None:
    """Which still-missing children a text names; every one for "both"; None if unclear."""
    folded = key(text)
    padded = f" {folded} "
    if any(f" {w} " in padded for w in vocab.reading.all_children):
        return missing
    named = []
    for clause in _CLAUSES.split(text):
        words = set(key(clause).split())
        if words & _STILL_MISSING_WORDS or words & vocab.negation or words & vocab.negation_more:
            continue  # "Karla no", "but not Liam", "Liam is still missing"
        padded = f" {key(clause)} "
        for i in missing:
            name = key(children[i].get("name") or "")
            if name and (f" {name} " in padded or f" {name.split()[0]} " in padded):
                named.append(i)
    return sorted(set(named)) or None


# Where a text about several children turns from one child to another.
_CLAUSES = re.compile(r"[,.;!?]|\b(?:but|pero|and|y|though|aunque)\b", re.IGNORECASE)
# Words that say the child in the same clause is still missing (beside the negations).
_STILL_MISSING_WORDS = frozenset(
    {"still", "missing", "gone", "sigue", "falta", "perdido", "perdida", "desaparecido"}
)


def _found_these(flow: Flow, state: State, inbound: Inbound, which: list[int]) -> Result:
    """Some children are found: every one found ends the case; else only they are marked."""
    answers = dict(state.answers)
    children = children_of(answers)
    for i in which:
        children[i]["found"] = True
    if all(c.get("found") for c in children):
        return _all_found(state)
    answers["children"] = children
    events: list[ev.Event] = [ev.AnswerGiven(key="children", value=children)]
    events += [ev.OneChildFound(name=children[i].get("name") or "", index=i) for i in which]
    new = replace(state, answers=answers, pending=None)
    names = [children[i].get("name") or "" for i in which]
    still = [c.get("name") or "" for c in children if not c.get("found")]
    said = Reply("one_found", {"found_names": names, "others": still})
    return Result(new, (said, *_ask_again(flow, new)), tuple(events))


def _which_child(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result | None:
    children = children_of(state.answers)
    missing = [i for i, c in enumerate(children) if not c.get("found")]
    which = _children_named(flow.vocab, inbound.text, children, missing)
    if which is not None:
        return _found_these(flow, replace(state, pending=None), inbound, which)
    pending = dict(state.pending or {})
    if reading.kind != rd.NON_ANSWER or pending.get("asked_again"):
        return None  # about something else: read as usual, the question is dropped
    return _ask_pending(flow, state, {**pending, "asked_again": True}, inbound)


def _all_found(state: State) -> Result:
    """Every child is found: the conversation ends, and so do the case's follow-ups."""
    ended = State(status=ENDED, step=None, answers={}, lang=state.lang, warned=state.warned)
    return Result(ended, (Reply("found"),), (ev.ChildFound(),))


def _police_refused(answers: dict[str, Any], events: list[ev.Event]) -> tuple[Reply, ...]:
    """Police refused or delayed: kept on the case; the caller hears there is no waiting
    period and to call NCMEC now."""
    answers["police_refused"] = True
    events += [ev.PoliceRefused(), ev.AnswerGiven(key="police_refused", value=True)]
    return (Reply("police_refused"),)


def _on_police_refused(flow: Flow, state: State, inbound: Inbound) -> Result:
    """At the police question the refusal answers it (they did call); elsewhere the
    question is asked again."""
    answers = dict(state.answers)
    events: list[ev.Event] = []
    said = _police_refused(answers, events)
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    step = flow.step(state.step) if state.status == ACTIVE else None
    if step is not None and step.key == "police_called":
        return _accept(flow, state, step, answers, True, said, events, inbound.channel)
    new = replace(state, answers=answers)
    return Result(new, (*said, *_ask_again(flow, new)), tuple(events))


def pass_over(flow: Flow, state: State, channel: str, quietly: bool = False) -> Result:
    """The caller gave no answer at all (silence on a call), or the question is not asked
    on this channel: take it as unknown and go on to the next question."""
    step = flow.step(state.step) if state.status == ACTIVE else None
    if step is None:
        return Result(state)
    notes = () if quietly else (Reply("moving_on"),)
    return _accept(flow, state, step, dict(state.answers), None, notes, [], channel)


def _accept(
    flow: Flow,
    state: State,
    step: Step,
    answers: dict[str, Any],
    value: Any,
    notes: tuple[Reply, ...],
    events: list[ev.Event],
    channel: str,
) -> Result:
    """Keep the answer to this step, then ask the next question, or finish the intake."""
    answers[step.key] = value
    events.append(ev.AnswerGiven(key=step.key, value=value))
    following = flow.next_step(step.key, answers, channel)
    if following is None:
        done = replace(state, status=COMPLETE, step=None, answers=answers, retries=0)
        followups = channel not in flow.offers_on  # else the caller takes them (OFFER)
        events.append(ev.IntakeCompleted(answers=dict(answers), followups=followups))
        summary = Reply(flow.summary, {"police_called": answers.get("police_called")})
        return Result(done, notes + (summary,), tuple(events))
    new = replace(state, status=ACTIVE, step=following.key, answers=answers, retries=0)
    unnamed = _unnamed_child(answers) if step.key in CHILD_STEPS else None
    if unnamed is not None:  # "my two kids" / "7 and 5": the other child's name first
        answers["asked_other"] = [*answers.get("asked_other", []), unnamed]
        pending = {"kind": OTHER_CHILD, "index": unnamed}
        return Result(
            replace(new, pending=pending), (*notes, _pending_prompt(pending)), tuple(events)
        )
    return Result(new, notes + (Reply(following.prompt),), tuple(events))


CHILD_STEPS = ("child_name", "age_months")  # after these, a child without a name is asked about


def _unnamed_child(answers: dict[str, Any]) -> int | None:
    """The first other child the case has no name for, not asked about yet."""
    asked = set(answers.get("asked_other", []))
    children = children_of(answers)
    return next(
        (i for i, c in enumerate(children) if i > 0 and not c.get("name") and i not in asked),
        None,
    )


def _after_intake(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """A text after the intake is done: keep it on the case, say it was kept. A text that
    reports a child missing may be about another child: the reply says how to report one
    (RESTART), since it is kept on this case all the same."""
    said = intents(flow.vocab, inbound.text)
    events: list[ev.Event] = [ev.CaseMessage(text=inbound.text)]
    if reading.missing:
        events.append(ev.ReportedMissing())
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    kept = Reply("after_intake_missing" if is_new_report(said) else "after_intake")
    return Result(state, (kept,), tuple(events))


def _after_end(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """A text after FOUND gets a kind word; after staff closed the case, it goes to
    the worker who had it. Neither is a new emergency; it is kept all the same. A
    question is answered; a text that may say a child is found is asked about."""
    events: list[ev.Event] = []
    if state.status == CLOSED:
        events.append(ev.CaseMessage(text=inbound.text))
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    if reading.kind == rd.QUESTION:
        answered = _answer_question(flow, state, reading)
        return replace(answered, events=tuple(events) + answered.events)
    if reading.kind == rd.EVENT and reading.event == rd.FOUND and reading.hedged:
        return Result(state, (Reply("confirm_found"),), tuple(events))
    said = Reply("after_close") if state.status == CLOSED else Reply("after_found")
    return Result(state, (said,), tuple(events))


def _on_keyword(flow: Flow, state: State, word: str, inbound: Inbound) -> Result:
    """Answer a keyword; media sent with it still goes on the case under way."""
    result = _keyword_result(flow, state, word, inbound)
    if inbound.media and state.status != NEW and word != "restart":
        kept = ev.MediaReceived(media=inbound.media)  # applied first, to the current case
        return replace(result, events=(kept,) + result.events)
    return result


def _keyword_result(flow: Flow, state: State, word: str, inbound: Inbound) -> Result:
    if word == "stop":
        # (a channel whose carrier confirms opt-outs itself leaves this unsaid)
        return Result(state, (Reply("opted_out"),), (ev.OptedOut(),))
    if word == "restart":  # media sent with RESTART belongs to the new intake
        result = _start(flow, state, inbound, lang=state.lang)
        return replace(result, events=(ev.Restarted(),) + result.events)
    if word == "found":
        return _found(flow, state, inbound)
    lang = switch_language(word)
    if lang is not None:
        return _switch_language(flow, state, lang, inbound)
    if word == "start":
        return _continue(flow, state, Reply("opted_in"), ev.OptedIn(), inbound)
    return _continue(flow, state, Reply("help"), ev.AskedForPerson(), inbound)


def _switch_language(flow: Flow, state: State, lang: str, inbound: Inbound) -> Result:
    """Speak another language from now on; a caller who has not yet had the safety
    message in it hears it again, in that language, before the question."""
    changed = replace(state, lang=lang)
    event = ev.LanguageChanged(lang=lang)
    if state.status != ACTIVE or lang in state.warned:
        return _continue(flow, changed, Reply("language_set"), event, inbound)
    step = flow.step(state.step)
    warned = replace(changed, warned=(*state.warned, lang))
    replies = (Reply("language_set"), Reply(flow.welcome)) + ((Reply(step.prompt),) if step else ())
    return Result(warned, replies, (event,))


def _continue(flow: Flow, state: State, said: Reply, event: ev.Event, inbound: Inbound) -> Result:
    """Answer a keyword, then go on where the conversation was (or begin one)."""
    if state.status == NEW:  # media sent with the keyword goes on the new intake
        media_only = Inbound(media=inbound.media, sender=inbound.sender, channel=inbound.channel)
        started = _start(flow, state, media_only, lang=state.lang)
        welcome, *rest = started.replies
        short = replace(said, params={**said.params, "with_welcome": True})  # no repeats
        replies = (welcome, short, *rest)
        return Result(started.state, replies, started.events + (event,))
    step = flow.step(state.step) if state.status == ACTIVE else None
    replies = (said, Reply(step.prompt)) if step else (said,)
    return Result(state, replies, (event,))


def _media_dict(media: Media) -> dict[str, str]:
    return {"url": media.url, "content_type": media.content_type}


def _images(media: tuple[Media, ...]) -> list[dict[str, str]]:
    """The media that can be the child's photo: images only, not a voice note or vCard."""
    return [_media_dict(m) for m in media if m.content_type.lower().startswith("image/")]


# --- what only a call sends: silence, coming to the questions, the offers, a read-back ---


def _hearing(flow: Flow, state: State, inbound: Inbound) -> bool:
    """Speech heard unsure at a question answered in words, or the answer to its read-back."""
    if state.pending and state.pending.get("kind") == CONFIRM_HEARD:
        return True
    step = flow.step(state.step) if state.status == ACTIVE and not state.pending else None
    return inbound.unsure and step is not None and step.answer == SPEECH


def _on_call(flow: Flow, state: State, inbound: Inbound) -> Result:
    """The inputs a call sends beside words and keys; the conversation goes on as by text."""
    pending = state.pending or {}
    if pending.get("kind") == CONFIRM_HEARD:
        cleared = replace(state, pending=None)
        if inbound.means("yes"):  # the words read back were right: they are the answer
            heard = replace(inbound, text=pending.get("heard", ""), kind=SPEECH, unsure=False)
            return _run(flow, cleared, heard)
        if inbound.kind in (KEYS, SILENCE):  # not confirmed: the question again
            return Result(cleared, _ask_again(flow, cleared))
        return _run(flow, cleared, inbound)  # said something else: read as usual
    if inbound.kind == SPEECH:  # heard unsure: read back before it is kept
        read_back = {"kind": CONFIRM_HEARD, "heard": inbound.text}
        return Result(replace(state, pending=read_back), (_pending_prompt(read_back),))
    if inbound.kind == SILENCE:
        return pass_over(flow, state, inbound.channel)
    if inbound.kind == OFFER:
        return _offer(flow, state, inbound.text)
    return _called(flow, state, inbound)


def _called(flow: Flow, state: State, inbound: Inbound) -> Result:
    """A call comes to the questions: an intake under way goes on (a question a call
    cannot ask passed over), a finished one is said again; else a call is a new report."""
    if state.status in (NEW, *FINISHED):
        fresh = State(lang=state.lang)
        if inbound.lang is not None and inbound.lang != fresh.lang:
            return _switch_language(flow, fresh, inbound.lang, inbound)
        return _start(flow, fresh, inbound, lang=fresh.lang)
    passed = Result(replace(state, pending=None) if _read_back(state) else state)
    step = flow.step(state.step) if state.status == ACTIVE else None
    if step is not None and not step.asked(state.answers, inbound.channel):
        passed = pass_over(flow, passed.state, inbound.channel, quietly=True)
    if inbound.lang is not None and inbound.lang != passed.state.lang:
        switched = _switch_language(flow, passed.state, inbound.lang, inbound)
        if switched.state.status == COMPLETE:  # the summary again, in the language chosen
            switched = _then(switched, _offer(flow, switched.state, SUMMARY))
        return replace(switched, events=passed.events + switched.events)
    if passed.replies:
        return passed
    if passed.state.status == COMPLETE:
        return _offer(flow, passed.state, SUMMARY)
    return Result(passed.state, _ask_again(flow, passed.state))


def _read_back(state: State) -> bool:
    return bool(state.pending) and state.pending.get("kind") == CONFIRM_HEARD


def _offer(flow: Flow, state: State, offer: str) -> Result:
    """At the end of an intake: the follow-up texts, a text to answer with a photo, or the
    summary again (with what it says of the police)."""
    if state.status != COMPLETE:
        return Result(state)
    if offer == CHECKLIST:
        return Result(state, (Reply("checklist_sent"),), (ev.FollowupsWanted(),))
    if offer == PHOTO:
        return Result(state, (Reply("photo_text_sent"),), (ev.PhotoRequested(),))
    police = state.answers.get("police_called")
    return Result(state, (Reply(flow.summary, {"police_called": police}),))
