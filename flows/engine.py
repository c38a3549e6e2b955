"""The conversation engine: pure functions from (flow, state, inbound) to a result.

A flow is data: an ordered tuple of steps. The engine checks global keywords first,
then hands the inbound message to the current step's parser, and returns the new
state, the replies to render (template names plus parameters) and the events the
service must apply. Nothing here touches a database, Flask or Twilio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flows import events as ev
from flows.intents import first, intents, is_new_report
from flows.parse import detect_language, keyword, switch_language
from flows.vocabulary import Vocabulary

NEW = "new"  # no intake yet: the next message starts one
ACTIVE = "active"  # asking questions
COMPLETE = "complete"  # intake done; texts attach to the open case
ENDED = "ended"  # child found: only RESTART or a clear new report starts a new intake
CLOSED = "closed"  # staff closed the case lately: texts go to its worker, not a new intake
FINISHED = (ENDED, CLOSED)

MAX_RETRIES = 2  # re-prompts for an unclear answer; the next unclear one is taken as unknown

# How a step is answered best, so a channel can ask to suit (keypad, speech, a picture).
YES_NO, DIGITS, CHOICE, SPEECH, MEDIA = "yes_no", "digits", "choice", "speech", "media"
ANSWERS = (YES_NO, DIGITS, CHOICE, SPEECH, MEDIA)


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True)
class Inbound:
    """One message from the caller, as the channel received it."""

    text: str = ""  # what was typed, said (speech) or keyed (digits)
    media: tuple[Media, ...] = ()
    sender: str = ""  # E.164 when the sender is a phone number, else the raw sender id
    channel: str = "sms"  # sms | voice: which steps apply
    lang: str | None = None  # a language the caller chose by key press


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "step": self.step,
            "answers": dict(self.answers),
            "lang": self.lang,
            "retries": self.retries,
            "warned": list(self.warned),
        }

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

    def step(self, key: str | None) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)

    def next_step(
        self, after: str | None, answers: dict[str, Any], channel: str = "sms"
    ) -> Step | None:
        keys = [s.key for s in self.steps]
        start = 0 if after is None else keys.index(after) + 1
        return next((s for s in self.steps[start:] if s.asked(answers, channel)), None)


@dataclass(frozen=True)
class Result:
    state: State
    replies: tuple[Reply, ...] = ()
    events: tuple[ev.Event, ...] = ()


def run(flow: Flow, state: State, inbound: Inbound) -> Result:
    """Advance one caller's conversation by one inbound message.

    Whole-message keywords come first; then what the text means wherever it comes
    (the child is found, the caller asks for a person); then the current state.
    """
    if inbound.lang is not None and inbound.lang != state.lang:
        return _switch_language(flow, state, inbound.lang, inbound)
    word = keyword(flow.vocab, inbound.text)
    said = frozenset() if word else intents(flow.vocab, inbound.text)
    meaning = first(said)
    word = word or _KEYWORD_OF_INTENT.get(meaning)
    if word is not None:
        return _on_keyword(flow, state, word, inbound)
    if state.status == NEW or (state.status in FINISHED and is_new_report(said)):
        lang = _first_language(flow, state, inbound)
        return _start(flow, state, inbound, lang=lang, reported=meaning == "missing")
    if state.status in FINISHED:
        return _after_end(state, inbound, meaning)
    if state.status == COMPLETE:
        return _after_intake(state, inbound, said)
    return _answer(flow, state, inbound, meaning)


# Intents that act as their keyword would, wherever the text comes.
_KEYWORD_OF_INTENT = {"found": "found", "person": "help"}


def _first_language(flow: Flow, state: State, inbound: Inbound) -> str:
    if state.status in (NEW, *FINISHED):
        return detect_language(flow.vocab, inbound.text) or state.lang
    return state.lang


def _start(flow: Flow, state: State, inbound: Inbound, lang: str, reported: bool = False) -> Result:
    """Begin a new intake: the safety message first, then the first question.

    `reported`: the caller's words already said a child is missing."""
    first = flow.next_step(None, {}, inbound.channel)
    assert first is not None, "a flow has at least one step"
    answers: dict[str, Any] = {}
    events: list[ev.Event] = [ev.IntakeStarted(lang=lang)]
    if reported:
        events.append(ev.ReportedMissing())
    if inbound.media:
        images = _images(inbound.media)
        if images:  # a photo sent first spares the photo question later
            answers["photos"] = images
        events.append(ev.MediaReceived(media=inbound.media))
    new = State(status=ACTIVE, step=first.key, answers=answers, lang=lang, warned=(lang,))
    return Result(new, (Reply(flow.welcome), Reply(first.prompt)), tuple(events))


def _answer(flow: Flow, state: State, inbound: Inbound, meaning: str | None = None) -> Result:
    step = flow.step(state.step)
    if step is None:  # the flow changed under a stored conversation: start over safely
        return _start(flow, state, inbound, lang=state.lang)
    answers = dict(state.answers)
    events: list[ev.Event] = [ev.ReportedMissing()] if meaning == "missing" else []
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
        images = _images(inbound.media)
        if images and step.key != "photos":  # a photo sent early spares the photo question
            # (a photo step passed over holds None: the late photo is kept all the same)
            answers["photos"] = list(answers.get("photos") or []) + images
    parsed = step.parse(inbound, replace(state, answers=answers))
    events.extend(parsed.events)
    answers.update(parsed.remember)
    if parsed.retry is not None and parsed.unclear and state.retries >= MAX_RETRIES:
        # Asked too often: take the answer as unknown so the caller is never trapped;
        # the words are kept for a person to read, and the next question follows.
        answers[f"{step.key}_unparsed"] = inbound.text
        parsed = Parsed(value=None, notes=("moving_on",))
    if parsed.retry is not None:
        notes = tuple(Reply(n) for n in parsed.notes)
        retries = state.retries + 1 if parsed.unclear else state.retries
        new = replace(state, answers=answers, retries=retries)
        return Result(new, notes + (Reply(parsed.retry),), tuple(events))
    notes = tuple(Reply(n) for n in parsed.notes) + _confirm_found(meaning)
    return _accept(flow, state, step, answers, parsed.value, notes, events, inbound.channel)


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
        events.append(ev.IntakeCompleted(answers=dict(answers)))
        summary = Reply(flow.summary, {"police_called": answers.get("police_called")})
        return Result(done, notes + (summary,), tuple(events))
    new = replace(state, status=ACTIVE, step=following.key, answers=answers, retries=0)
    return Result(new, notes + (Reply(following.prompt),), tuple(events))


def _confirm_found(meaning: str | None) -> tuple[Reply, ...]:
    """A text that may say the child is found is taken as it is, and we ask to be sure."""
    return (Reply("confirm_found"),) if meaning == "found_unsure" else ()


def _after_intake(state: State, inbound: Inbound, said: frozenset[str]) -> Result:
    """A text after the intake is done: keep it on the case, say it was kept. A text that
    reports a child missing may be about another child: the reply says how to report one
    (RESTART), since it is kept on this case all the same."""
    meaning = first(said)
    events: list[ev.Event] = [ev.CaseMessage(text=inbound.text)]
    if meaning == "missing":
        events.append(ev.ReportedMissing())
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    kept = Reply("after_intake_missing" if is_new_report(said) else "after_intake")
    return Result(state, _confirm_found(meaning) or (kept,), tuple(events))


def _after_end(state: State, inbound: Inbound, meaning: str | None) -> Result:
    """A text after FOUND gets a kind word; after staff closed the case, it goes to
    the worker who had it. Neither is a new emergency; it is kept all the same."""
    events: list[ev.Event] = []
    if state.status == CLOSED:
        events.append(ev.CaseMessage(text=inbound.text))
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    said = Reply("after_close") if state.status == CLOSED else Reply("after_found")
    return Result(state, _confirm_found(meaning) or (said,), tuple(events))


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
        ended = State(status=ENDED, step=None, answers={}, lang=state.lang, warned=state.warned)
        return Result(ended, (Reply("found"),), (ev.ChildFound(),))
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
        media_only = Inbound(media=inbound.media, sender=inbound.sender)
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
