"""The conversation engine: pure functions from (flow, state, inbound) to a result.

A flow is data: an ordered tuple of steps. The engine checks global keywords first,
then hands the inbound message to the current step's parser, and returns the new
state, the replies to render (template names plus parameters) and the events the
service must apply. Nothing here touches a database, Flask or Twilio.

The runner is here; its parts below it: flows.state (the typed input, the state, steps
and flows), flows.steps (asking and answering), flows.children (several children, who
is found), flows.keywords (what outranks the step). Their public names are engine's too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flows import events as ev
from flows import read as rd
from flows.children import _add_child, _found, _other_child_details, _which_child
from flows.intents import intents, is_new_report
from flows.keywords import _on_event, _on_keyword, _switch_language
from flows.parse import parse_yes_no, switch_language
from flows.state import (
    ACTIVE,
    ANSWERS,
    CALLED,
    CHECKLIST,
    CHOICE,
    CLOSED,
    COMPLETE,
    CONFIRM_CHILD,
    CONFIRM_FOUND,
    CONFIRM_HEARD,
    DIGITS,
    ENDED,
    FINISHED,
    HANG_UP,
    KEYS,
    KINDS,
    MAX_RETRIES,
    MEDIA,
    NEW,
    NO,
    OFFER,
    OFFERS,
    OTHER_CHILD,
    OTHER_NUMBER,
    PHOTO,
    ROLE_NOTES,
    SAME_NUMBER,
    SILENCE,
    SKIP,
    SPEECH,
    SUMMARY,
    TEXT,
    UNKNOWN_OK,
    WHICH_CHILD,
    YES,
    YES_NO,
    Flow,
    Inbound,
    Media,
    Parsed,
    Reply,
    Result,
    State,
    Step,
    children_of,
)
from flows.steps import (
    _after_end,
    _after_intake,
    _answer,
    _answer_question,
    _ask_again,
    _ask_pending,
    _pending_prompt,
    _start,
    pass_over,
)

__all__ = [
    "NO",
    "OTHER_NUMBER",
    "SAME_NUMBER",
    "SKIP",
    "YES",
    "ACTIVE",
    "ANSWERS",
    "CALLED",
    "CHECKLIST",
    "CHOICE",
    "CLOSED",
    "COMPLETE",
    "CONFIRM_CHILD",
    "CONFIRM_FOUND",
    "CONFIRM_HEARD",
    "DIGITS",
    "ENDED",
    "FINISHED",
    "Flow",
    "Inbound",
    "KEYS",
    "KINDS",
    "MAX_RETRIES",
    "MEDIA",
    "Media",
    "NEW",
    "OFFER",
    "OFFERS",
    "OTHER_CHILD",
    "PHOTO",
    "Parsed",
    "ROLE_NOTES",
    "Reply",
    "Result",
    "SILENCE",
    "SPEECH",
    "SUMMARY",
    "State",
    "Step",
    "TEXT",
    "UNKNOWN_OK",
    "WHICH_CHILD",
    "YES_NO",
    "children_of",
    "pass_over",
    "run",
]


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
    if inbound.kind != TEXT and _on_a_call(flow, state, inbound):  # texts: straight on
        return _on_call(flow, state, inbound)
    if state.pending and state.pending.get("kind") == CONFIRM_HEARD:  # a call's, left behind
        state = replace(state, pending=None)
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


def _on_a_call(flow: Flow, state: State, inbound: Inbound) -> bool:
    """An input only a call sends; speech heard unsure at a question answered in words;
    or the answer to its read-back."""
    if inbound.kind in (SILENCE, CALLED, OFFER, HANG_UP):
        return True
    if state.pending and state.pending.get("kind") == CONFIRM_HEARD:
        return True
    step = flow.step(state.step) if state.status == ACTIVE and not state.pending else None
    return inbound.unsure and step is not None and step.answer == SPEECH


def _on_call(flow: Flow, state: State, inbound: Inbound) -> Result:
    """The inputs a call sends beside words and keys; the conversation goes on as by text."""
    pending = state.pending or {}
    if pending.get("kind") == CONFIRM_HEARD:
        cleared = replace(state, pending=None)
        if inbound.means(YES):  # the words read back were right: they are the answer
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
    if inbound.kind == HANG_UP:  # the conversation stays where it was, for a call back
        return Result(state, (), (ev.HungUp(),) if state.status == ACTIVE else ())
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
    reading_back = (state.pending or {}).get("kind") == CONFIRM_HEARD  # dropped: asked anew
    passed = Result(replace(state, pending=None) if reading_back else state)
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
