"""The engine's data: the typed input a channel adapter makes of a webhook, a
conversation's state, a flow's steps and the result of a turn. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows import events as ev
from flows.language import Detector
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
# SPEECH (above): words said on a call, as speech recognition heard them
SILENCE = "silence"  # nothing at all at a question: it is passed over as unknown
CALLED = "called"  # a call comes to the questions (begun, resumed, a language chosen)
OFFER = "offer"  # one of the end-of-intake offers taken (Inbound.text: OFFERS)
HANG_UP = "hang_up"  # the caller hung up (an intake left half done may mean danger)
KINDS = (TEXT, KEYS, SPEECH, SILENCE, CALLED, OFFER, HANG_UP)
# What keys can mean at a question (Inbound.means); which key means what is the channel's.
YES, NO, SKIP, SAME_NUMBER, OTHER_NUMBER = "yes", "no", "skip", "same_number", "other_number"
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


def _child(name: str | None = None, age_months: int | None = None) -> dict[str, Any]:
    return {"name": name, "age_months": age_months, "found": False}


def children_of(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's children (the first is the one the questions are about), when it knows
    of more than one; else an empty list."""
    return [dict(c) for c in answers.get("children") or []]
