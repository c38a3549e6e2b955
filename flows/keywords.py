"""Keywords and events that outrank the step: STOP, START, HELP, a language, FOUND,
another child, the police refusing, the caller's role."""

from __future__ import annotations

from dataclasses import replace

from flows import events as ev
from flows import read as rd
from flows.children import _add_child, _found
from flows.parse import switch_language
from flows.state import (
    ACTIVE,
    CONFIRM_CHILD,
    CONFIRM_FOUND,
    NEW,
    Flow,
    Inbound,
    Reply,
    Result,
    State,
)
from flows.steps import (
    _accept,
    _answer,
    _ask_again,
    _ask_pending,
    _police_refused,
    _start,
    _take_role,
)


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
