"""A call's words and keys: what the caller did at a Gather (Move, typed for the engine)
and the TwiML of one answer (Call); the keypad's conventions; the fallback from memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twilio.twiml.voice_response import Gather, VoiceResponse

from flows import engine
from intake.core import webhooks, words
from intake.core.models import Case
from intake.domain.enums import Medium

if TYPE_CHECKING:
    from intake.core.line import Line

CHANNEL = Medium.VOICE
BASE = webhooks.VOICE_PATH
MENU, TURN, CONFIRM, END = f"{BASE}/menu", f"{BASE}/turn", f"{BASE}/confirm", f"{BASE}/end"
PERSON, WHISPER, VOICEMAIL = f"{BASE}/person", f"{BASE}/whisper", f"{BASE}/voicemail"
FALLBACK_PERSON, OFFICE = f"{BASE}/fallback/person", f"{BASE}/office"
VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Lupe", "es-US")}
SURE = 0.5  # speech heard with less confidence than this is read back
RING_SECONDS = 20  # each on-call person rings this long
KEYS = {"person": "0", "ncmec": "9", "language": "2"}
MENU_KEYS = (KEYS["person"], KEYS["ncmec"])  # pressed alone, at any question
# What a key means at a question, on a call only (a texted "1" is no key): 1 is yes, skip
# and "the number I call from"; 2 is no, and "another number" at the callback question.
KEYPAD = {
    engine.YES: frozenset({"1"}),
    engine.NO: frozenset({"2"}),
    engine.SKIP: frozenset({"1"}),
    engine.SAME_NUMBER: frozenset({"1"}),
    engine.OTHER_NUMBER: frozenset({"2"}),
}
# How a Gather listens for each kind of answer. One key ends a choice; a number ends with
# # (or a pause); speech also takes one key, so 0 and 9 work on every question.
KEYPAD_ONLY = {"input": "dtmf", "num_digits": 1}
SPOKEN = {"input": "dtmf speech", "speech_timeout": "auto"}
LISTEN = {
    engine.YES_NO: SPOKEN | {"num_digits": 1},  # "no, they said wait 24 hours" is heard
    engine.CHOICE: KEYPAD_ONLY,
    engine.DIGITS: SPOKEN | {"finish_on_key": "#"},
    engine.SPEECH: SPOKEN | {"num_digits": 1},
    engine.MEDIA: KEYPAD_ONLY,
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

    def inbound(self, sender: str) -> engine.Inbound:
        """The engine's input: keys (with the keypad's meanings), speech, or silence."""
        if self.digits:
            kind, text = engine.KEYS, self.digits
        elif self.speech.strip().isdigit() and len(self.speech.strip()) == 1:
            kind, text = engine.KEYS, self.speech.strip()  # "one", said for the key: heard "1"
        elif self.speech:
            kind, text = engine.SPEECH, self.speech
        else:
            kind, text = engine.SILENCE, ""
        unsure = kind == engine.SPEECH and self.confidence < SURE
        return engine.Inbound(
            text=text, sender=sender, channel=CHANNEL, kind=kind, unsure=unsure, keypad=KEYPAD
        )


def called(sender: str, lang: str | None = None) -> engine.Inbound:
    """The engine's input when a call comes to the questions (a language chosen or not)."""
    return engine.Inbound(sender=sender, lang=lang, channel=CHANNEL, kind=engine.CALLED)


def hung_up(sender: str) -> engine.Inbound:
    """The engine's input when the call ends (Twilio's status callback)."""
    return engine.Inbound(sender=sender, channel=CHANNEL, kind=engine.HANG_UP)


def offer(sender: str, choice: str) -> engine.Inbound:
    """The engine's input when the caller takes an end-of-intake offer."""
    return engine.Inbound(text=choice, sender=sender, channel=CHANNEL, kind=engine.OFFER)


@dataclass(frozen=True)
class Progress:
    """A call's progress that no conversation keeps, riding in the webhook's URL: the
    silences in a row at a question, and which person on call is being rung."""

    silent: int = 0
    dialled: int = 0

    def question_url(self) -> str:
        """Where a Gather at a question goes on (silence counted)."""
        return f"{TURN}?silent={self.silent}"

    def dial_url(self) -> str:
        """Where the Dial of the person being rung goes on."""
        return f"{PERSON}/done?n={self.dialled}"


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
            channel=CHANNEL,
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
