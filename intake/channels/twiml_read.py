"""Reading TwiML as Twilio would (writing it is the twilio library's): the texts of a
messaging answer, and the verbs a call follows (Say, Gather, Record, Dial) as plain data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

WORDS_PER_SECOND = 2.5  # for the simulated clock: how long speech takes


def message_bodies(twiml: str) -> list[str]:
    """The texts a TwiML answer would send (reading XML is fine; writing it is the library's)."""
    if not twiml.strip():
        return []
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


class CallError(RuntimeError):
    """The line did something Twilio would not follow, or the driver cannot."""


@dataclass(frozen=True)
class Spoken:
    """One thing the line said (or played) to the person on the phone."""

    text: str
    language: str = "en-US"
    voice: str = ""


@dataclass(frozen=True)
class Gather:
    """A <Gather> the call is waiting on, with Twilio's defaults filled in."""

    action: str  # resolved, absolute
    method: str = "POST"
    input: str = "dtmf"
    num_digits: int | None = None
    timeout: int = 5
    finish_on_key: str = "#"
    language: str = "en-US"
    hints: str = ""
    speech_timeout: str = ""
    action_on_empty_result: bool = False

    def hears(self, kind: str) -> bool:
        """True when this Gather listens for 'dtmf' or 'speech'."""
        return kind in self.input.split()

    def digits(self, keys: str) -> str:
        """The Digits Twilio would submit for these key presses."""
        for i, key in enumerate(keys):
            if key in self.finish_on_key:
                keys = keys[:i]
                break
        return keys[: self.num_digits] if self.num_digits else keys

    def finished_on(self, keys: str) -> str:
        """Twilio's FinishedOnKey: the finishing key pressed before numDigits were in."""
        for i, key in enumerate(keys):
            if self.num_digits and i >= self.num_digits:
                return ""
            if key in self.finish_on_key:
                return key
        return ""


@dataclass(frozen=True)
class Record:
    """A <Record> the call is waiting on."""

    action: str  # resolved, absolute
    method: str = "POST"
    timeout: int = 5
    max_length: int = 3600
    finish_on_key: str = "1234567890*#"
    play_beep: bool = True


@dataclass(frozen=True)
class Recording:
    """A message the caller left (what they said is kept for the tests to read)."""

    sid: str
    url: str
    duration: int
    words: str


DIAL_FAILED = "failed"  # Twilio's DialCallStatus for a call that could not be placed


@dataclass(frozen=True)
class Pickup:
    """What one dialled person does when a <Dial> rings them."""

    answers: bool = False
    presses: tuple[str, ...] = ()  # key presses for the screening Gathers, one each
    status: str = "no-answer"  # when not answering: no-answer, busy or failed
    talks: int = 60  # seconds of conversation once connected


NO_ANSWER = Pickup()
BUSY = Pickup(status="busy")
FAILED = Pickup(status=DIAL_FAILED)

Callee = Callable[[str], Pickup]


def answers(*presses: str, talks: int = 60) -> Pickup:
    """A person who picks up and presses these keys, one per screening Gather."""
    return Pickup(answers=True, presses=presses, talks=talks)


def callees(people: Mapping[str, Pickup], default: Pickup = NO_ANSWER) -> Callee:
    """A Callee policy from a table: number -> what that person does."""
    return lambda number: people.get(number, default)


def nobody_answers(number: str) -> Pickup:
    return NO_ANSWER


@dataclass(frozen=True)
class Leg:
    """A dialled person who picked up: what their screening said, and if they were put
    through."""

    number: str
    sid: str
    heard: list[Spoken]
    connected: bool


@dataclass(frozen=True)
class Request:
    """One request the driver made, as the line received it."""

    method: str
    path: str
    params: dict[str, str]
    status: int


class CallEnded(CallError):
    """A caller move on a call that has already ended."""


# Told (who, line) as each line is spoken: who is "" for this call's own person, or the
# number of a dialled person who hears their screening.
Listener = Callable[[str, Spoken], None]
Fetch = tuple[str, str, dict[str, str]]  # method, absolute URL, added parameters


@dataclass
class Waiting:
    """The Gather or Record a call waits on, and the verbs after it."""

    prompt: Gather | Record
    rest: list[ET.Element]  # the verbs after it, run on silence
    doc_url: str


def verb_text(verb: ET.Element) -> str:
    return (verb.text or "").strip()


def speaking_time(text: str) -> float:
    return len(text.split()) / WORDS_PER_SECOND


def gather_of(verb: ET.Element, doc_url: str) -> Gather:
    """A <Gather> with Twilio's defaults; no action means the current document's URL."""
    num_digits = verb.get("numDigits")
    return Gather(
        action=urljoin(doc_url, verb.get("action", "")) if verb.get("action") else doc_url,
        method=verb.get("method", "POST"),
        input=verb.get("input", "dtmf"),
        num_digits=int(num_digits) if num_digits else None,
        timeout=int(verb.get("timeout", "5")),
        finish_on_key=verb.get("finishOnKey", "#"),
        language=verb.get("language", "en-US"),
        hints=verb.get("hints", ""),
        speech_timeout=verb.get("speechTimeout", ""),
        action_on_empty_result=verb.get("actionOnEmptyResult", "false") == "true",
    )


def record_of(verb: ET.Element, doc_url: str) -> Record:
    """A <Record> with Twilio's defaults; no action means the current document's URL."""
    return Record(
        action=urljoin(doc_url, verb.get("action", "")) if verb.get("action") else doc_url,
        method=verb.get("method", "POST"),
        timeout=int(verb.get("timeout", "5")),
        max_length=int(verb.get("maxLength", "3600")),
        finish_on_key=verb.get("finishOnKey", "1234567890*#"),
        play_beep=verb.get("playBeep", "true") == "true",
    )


def numbers_of(verb: ET.Element) -> list[tuple[str, str, str]]:
    """(number, screening url, method) for each number a <Dial> rings."""
    if len(verb) == 0:
        return [(verb_text(verb), "", "POST")]
    found = []
    for noun in verb:
        if noun.tag != "Number":
            raise CallError(f"the call driver dials only <Number>, not <{noun.tag}>")
        found.append((verb_text(noun), noun.get("url", ""), noun.get("method", "POST")))
    return found


def dial_status(statuses: list[str]) -> str:
    """The DialCallStatus when nobody was put through."""
    for status in ("no-answer", "busy", "failed"):
        if status in statuses:
            return status
    return "failed"
