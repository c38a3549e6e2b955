"""A phone in the terminal: texts and calls go through the same signed webhooks as Twilio's.

Texts: `text_line` posts one typed line. Calls: `Call` acts as Twilio does for a phone
call (it posts signed webhooks and follows the TwiML that comes back), while the test or
the person at the terminal plays the caller, one move at a time.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode, urljoin

import requests

from intake import signing
from intake.config import SIMULATOR_NUMBER, Settings
from intake.domain import Medium, OutboxStatus
from intake.simulated import is_fictitious  # noqa: F401  (the simulator's numbers)

SMS_PATH = "/twilio/sms"
# A whole intake as a caregiver might text it, from the first text to the final answer:
# what the benchmarks play.
SAMPLE_INTAKE = (
    "my daughter is missing",
    "yes",
    "Mia Lopez",
    "seven",
    "about 2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet tall, brown ponytail",
    "Springfield PD report 24-1187",
    "1",
    "SKIP",
    "SAME",  # the final answer: the case opens, follow-ups are queued, on-call is paged
)
LINE_NUMBER = SIMULATOR_NUMBER  # Twilio's documented magic test number


class Post(Protocol):
    """Sends one signed request to the line; answers (HTTP status, body).

    `path` may carry a query string. A GET (Redirect method="GET") passes its parameters
    in the path's query and none in `params`.
    """

    def __call__(
        self, path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]: ...


def sms_params(
    sender: str,
    body: str,
    media_urls: list[str] | None = None,
    settings: Settings | None = None,
) -> dict[str, str]:
    """The form fields Twilio sends for an incoming text (to the line `settings` run)."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": account_sid(settings),
        "From": sender,
        "To": line_number(settings),
        "Body": body,
        "NumMedia": str(len(media_urls or [])),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for i, url in enumerate(media_urls or []):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = "image/jpeg"
    return params


def line_number(settings: Settings | None) -> str:
    """The number a line answers on, as Twilio sends it in `To`."""
    if settings is None:
        return LINE_NUMBER
    return settings.twilio_phone_number or next(iter(settings.other_numbers), LINE_NUMBER)


def account_sid(settings: Settings | None) -> str:
    """The AccountSid Twilio sends for this line (the simulator's own without Twilio)."""
    return (settings.twilio_account_sid if settings else None) or ACCOUNT_SID


def signed_headers(settings: Settings, path: str, params: dict[str, str]) -> dict[str, str]:
    url = signing.public_url(settings.public_base_url, path)
    return {signing.SIGNATURE_HEADER: signing.sign(settings.twilio_auth_token, url, params)}


def message_bodies(twiml: str) -> list[str]:
    """The texts a TwiML answer would send (reading XML is fine; writing it is the library's)."""
    if not twiml.strip():
        return []
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def unreachable(base_url: str) -> str | None:
    """A plain sentence when nothing answers at a running line's address, else None."""
    try:
        requests.get(base_url.rstrip("/") + "/healthz", timeout=10)
    except requests.RequestException:
        return f"Nothing answers at {base_url}: start the line with `intake run`, or fix --url."
    return None


def http_post(base_url: str) -> Post:
    """Requests to a running line over HTTP."""

    def post(
        path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]:
        response = requests.request(
            method, base_url.rstrip("/") + path, data=params or None, headers=headers, timeout=20
        )
        return response.status_code, response.text

    return post


def app_post(app) -> Post:
    """Requests to an app in this process, through Flask's test client."""
    client = app.test_client()

    def post(
        path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]:
        response = client.open(path, method=method, data=params or None, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def text_line(settings: Settings, post: Post, sender: str, line: str) -> list[str]:
    """Send one typed line ('photo: URL' sends an MMS) and return the replies."""
    media = []
    if line.lower().startswith("photo:"):
        media, line = [line.split(":", 1)[1].strip()], ""
    return send_text(settings, post, sender, line, media)


def send_text(
    settings: Settings, post: Post, sender: str, body: str, media: list[str] | None = None
) -> list[str]:
    """Text the line as `sender` through the signed SMS webhook; returns the replies."""
    params = sms_params(sender, body, media, settings)
    status, text = post(SMS_PATH, params, signed_headers(settings, SMS_PATH, params))
    if status != 200:
        return [f"[the line answered HTTP {status}]"]
    return message_bodies(text)


@dataclass(frozen=True)
class LineText:
    """A text (or call) the line sent a number on its own: one outbox row."""

    id: int
    kind: str
    channel: str  # sms | call
    body: str
    status: str  # sent | failed
    sent_at: datetime | None
    call_url: str | None = None  # for a call: where its TwiML is fetched


def line_texts(
    session, phone: str, statuses: tuple[str, ...] = (OutboxStatus.SENT,)
) -> list[LineText]:
    """What the line sent `phone` from the outbox, in the order it went out."""
    from sqlalchemy import select

    from intake.models import Outbound

    query = (
        select(Outbound)
        .where(Outbound.to_phone == phone, Outbound.status.in_(statuses))
        .order_by(Outbound.sent_at, Outbound.id)
    )
    return [
        LineText(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            body=row.body or "",
            status=row.status,
            sent_at=row.sent_at,
            call_url=(row.params or {}).get("call_url") if row.channel == Medium.VOICE else None,
        )
        for row in session.scalars(query)
    ]


class Inbox:
    """Texts the line sent this phone on its own (follow-ups), read from the local outbox."""

    def __init__(self, settings: Settings, phone: str):
        from intake.db import Database

        self.db = Database(settings.database_url, settings.data_key_ring())
        self.phone = phone
        self.seen = {text.id for text in self._texts()}

    def _texts(self) -> list[LineText]:
        with self.db.sessions() as session:
            return line_texts(session, self.phone)

    def new_texts(self) -> list[str]:
        fresh = [text for text in self._texts() if text.id not in self.seen]
        self.seen.update(text.id for text in fresh)
        return [text.body for text in fresh]


def watch(inbox: Inbox, show: Callable[[str], None], every: float = 1.0) -> Callable[[], None]:
    """Show the line's own texts as they go out, from a background thread.

    Returns a function that stops the thread and shows anything still unseen.
    """
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            _show_new(inbox, show)

    thread = threading.Thread(target=poll, name="simulate-inbox", daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join()
        _show_new(inbox, show)

    return finish


def _show_new(inbox: Inbox, show: Callable[[str], None]) -> None:
    for text in inbox.new_texts():
        show(text)


# --- calls ----------------------------------------------------------------------------------

VOICE_PATH = "/twilio/voice"
VOICE_STATUS_PATH = "/twilio/voice/status"
ACCOUNT_SID = "AC" + "0" * 32
MAX_DOCUMENTS = 50  # TwiML documents one caller move may lead through (Redirect loops)
MAX_SCREEN_TURNS = 10  # Gathers a screened person may be asked before the driver gives up
WORDS_PER_SECOND = 2.5  # for the simulated clock: how long speech takes


class CallError(RuntimeError):
    """The line did something Twilio would not follow, or the driver cannot."""


class CallEnded(CallError):
    """A caller move on a call that has already ended."""


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def call_params(sender: str, call_sid: str, **extra: str) -> dict[str, str]:
    """The form fields Twilio sends with every request about an incoming call.

    `extra` overrides or adds fields (To, CallStatus, Direction, Digits...).
    """
    to = extra.get("To", LINE_NUMBER)
    params = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Caller": sender,
        "Called": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "US",
        "ToCountry": "US",
    }
    params.update(extra)
    return params


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


# Told (who, line) as each line is spoken: who is "" for this call's own person, or the
# number of a dialled person who hears their screening.
Listener = Callable[[str, Spoken], None]
Fetch = tuple[str, str, dict[str, str]]  # method, absolute URL, added parameters


@dataclass
class _Waiting:
    prompt: Gather | Record
    rest: list[ET.Element]  # the verbs after it, run on silence
    doc_url: str


@dataclass
class Call:
    """One phone call, driven as Twilio drives it.

    Start it with `Call.start` (someone calls the line) or `Call.answer` (the line called
    someone). Then play the caller: `press`, `say`, `silence`, `hang_up`; each returns
    the lines spoken since. Read `heard`, `spoken`, `ended`, `current_gather`,
    `current_record`, `dialled`, `legs`, `recorded` and `requests`.
    """

    post: Post
    settings: Settings
    from_number: str
    to_number: str = LINE_NUMBER
    sid: str = field(default_factory=lambda: new_sid("CA"))
    direction: str = "inbound"
    callee: Callee = nobody_answers
    status_path: str | None = VOICE_STATUS_PATH
    max_documents: int = MAX_DOCUMENTS
    extra: dict[str, str] = field(default_factory=dict)
    listener: Listener | None = None  # told each line as it is spoken (the terminal phone)
    spoken: list[Spoken] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    recorded: list[Recording] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    seconds: float = 0.0  # the simulated clock: speech, pauses, waits, conversations
    ended: bool = False
    ended_by: str = ""  # "hangup" (the line's Hangup/Reject), "end" (TwiML ran out), "caller"
    _waiting: _Waiting | None = field(default=None, repr=False)

    # --- starting -----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        post: Post,
        settings: Settings,
        sender: str,
        *,
        to: str | None = None,
        path: str = VOICE_PATH,
        callee: Callee = nobody_answers,
        **options,
    ) -> Call:
        """`sender` calls the line: Twilio posts to `path` and runs what comes back."""
        to = to or line_number(settings)
        call = cls(post, settings, sender, to, callee=callee, **options)
        call._proceed([], "", ("POST", call._absolute(path), {}))
        return call

    @classmethod
    def answer(
        cls,
        post: Post,
        settings: Settings,
        person: str,
        url: str,
        *,
        line: str | None = None,
        sid: str | None = None,
        status_callback: str | None = None,
        listener: Listener | None = None,
    ) -> Call:
        """`person` picks up a call the line placed: calls.create(to=person, url=url,
        status_callback=...); pass the created call's sid to keep Twilio's."""
        return cls.start(
            post,
            settings,
            line or line_number(settings),
            to=person,
            path=url,
            direction="outbound-api",
            sid=sid or new_sid("CA"),
            status_path=status_callback,
            listener=listener,
        )

    # --- what the caller does -----------------------------------------------------------

    def press(self, keys: str) -> list[str]:
        """Press keys (digits, * or #) at the current Gather or Record."""
        return self._move("keys", keys)

    def say(self, words: str, confidence: float = 1.0) -> list[str]:
        """Speak: a SpeechResult at a speech Gather, a message at a Record."""
        return self._move("speech", words, confidence)

    def silence(self) -> list[str]:
        """Say and press nothing until the Gather or Record times out."""
        return self._move("silence", "")

    def hang_up(self) -> list[str]:
        """Hang up now: Twilio posts the status callback and follows nothing further."""
        self._check_live()
        self._end("caller")
        return []

    # --- what a test reads ----------------------------------------------------------------

    @property
    def heard(self) -> list[str]:
        """Everything the line said on this call, in order."""
        return [s.text for s in self.spoken]

    @property
    def current_gather(self) -> Gather | None:
        prompt = self._waiting.prompt if self._waiting else None
        return prompt if isinstance(prompt, Gather) else None

    @property
    def current_record(self) -> Record | None:
        prompt = self._waiting.prompt if self._waiting else None
        return prompt if isinstance(prompt, Record) else None

    # --- moves --------------------------------------------------------------------------

    def _check_live(self) -> _Waiting:
        if self.ended or self._waiting is None:
            raise CallEnded(f"the call has ended ({self.ended_by}); the caller can do nothing")
        return self._waiting

    def _move(self, kind: str, value: str, confidence: float = 1.0) -> list[str]:
        """One caller move at the Gather or Record the call waits on."""
        waiting = self._check_live()
        self._waiting = None
        mark = len(self.spoken)
        if isinstance(waiting.prompt, Gather):
            fetch = self._answer_gather(waiting.prompt, kind, value, confidence)
        else:
            fetch = self._answer_record(waiting.prompt, kind, value)
        self._proceed(waiting.rest, waiting.doc_url, fetch)
        return [s.text for s in self.spoken[mark:]]

    def _answer_gather(
        self, gather: Gather, kind: str, value: str, confidence: float
    ) -> Fetch | None:
        """The request the Gather makes, or None when Twilio runs the next verb."""
        if kind == "keys" and gather.hears("dtmf") and gather.digits(value):
            keyed = {"Digits": gather.digits(value), "FinishedOnKey": gather.finished_on(value)}
            return gather.method, gather.action, keyed
        if kind == "speech" and gather.hears("speech") and value.strip():
            self.seconds += _speaking_time(value)
            params = {"SpeechResult": value, "Confidence": str(confidence)}
            return gather.method, gather.action, params
        self.seconds += gather.timeout  # nothing it listens for: it times out
        if gather.action_on_empty_result:
            return gather.method, gather.action, {}
        return None

    def _answer_record(self, record: Record, kind: str, value: str) -> Fetch | None:
        """A message posts to the action; an empty recording runs the next verb."""
        if kind != "speech" or not value.strip():
            self.seconds += record.timeout
            return None  # Twilio does not request the action for an empty recording
        duration = min(record.max_length, max(1, round(_speaking_time(value))))
        sid = new_sid("RE")
        url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"
        self.recorded.append(Recording(sid, url, duration, value))
        self.seconds += duration + record.timeout
        params = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(duration)}
        return record.method, record.action, params

    # --- following TwiML ----------------------------------------------------------------

    def _proceed(self, verbs: list[ET.Element], doc_url: str, fetch: Fetch | None) -> None:
        """Run verbs, then each document they lead to, until the call waits or ends."""
        documents = 0
        while not self.ended:
            if fetch is not None:
                documents += 1
                if documents > self.max_documents:
                    raise CallError(
                        f"{self.max_documents} TwiML documents after one caller move without "
                        f"waiting for the caller or ending (a Redirect loop?); last: {fetch[1]}"
                    )
                verbs, doc_url = self._fetch(fetch), fetch[1]
            fetch = self._run(verbs, doc_url)
            if fetch is None:
                return

    def _run(self, verbs: list[ET.Element], doc_url: str) -> Fetch | None:
        """Run one document's verbs; the next request, or None when waiting or ended."""
        for i, verb in enumerate(verbs):
            if verb.tag in ("Say", "Play", "Pause"):
                self._speak(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    self._speak(child)
                self._waiting = _Waiting(_gather(verb, doc_url), verbs[i + 1 :], doc_url)
                return None
            elif verb.tag == "Record":
                self._waiting = _Waiting(_record(verb, doc_url), verbs[i + 1 :], doc_url)
                return None
            elif verb.tag == "Redirect":
                return verb.get("method", "POST"), urljoin(doc_url, _text(verb)), {}
            elif verb.tag == "Dial":
                outcome = self._dial(verb, doc_url)
                if verb.get("action"):
                    return verb.get("method", "POST"), urljoin(doc_url, verb.get("action")), outcome
            elif verb.tag in ("Hangup", "Reject"):
                self._end("hangup")
                return None
            else:
                raise CallError(f"the call driver does not know <{verb.tag}> (in {doc_url})")
        self._end("end")  # Twilio hangs up when the TwiML runs out
        return None

    def _speak(self, verb: ET.Element) -> None:
        """Say, Play or Pause (alone or nested in a Gather)."""
        if verb.tag == "Pause":
            self.seconds += int(verb.get("length", "1"))
            return
        if verb.tag == "Play":
            self._hear(Spoken(f"[plays {_text(verb)}]", "", ""))
            return
        if verb.tag != "Say":
            raise CallError(f"<{verb.tag}> cannot be spoken")
        text = " ".join("".join(verb.itertext()).split())  # SSML inside is read as words
        for _ in range(max(1, int(verb.get("loop", "1")))):
            self._hear(Spoken(text, verb.get("language", "en-US"), verb.get("voice", "")))
            self.seconds += _speaking_time(text)

    def _hear(self, said: Spoken) -> None:
        self.spoken.append(said)
        if self.listener:
            self.listener("", said)

    def _leg_listener(self, number: str) -> Listener | None:
        listener = self.listener
        if listener is None:
            return None
        return lambda _, said: listener(number, said)

    # --- Dial ---------------------------------------------------------------------------

    def _dial(self, verb: ET.Element, doc_url: str) -> dict[str, str]:
        """Ring each number (in the order listed) until one is put through.

        Twilio rings several <Number>s at once and connects the first to pick up and
        accept; with a Callee policy deciding, taking them in order is that outcome.
        """
        caller_id = verb.get("callerId") or self.from_number
        statuses = []
        for number, url, method in _numbers(verb):
            self.dialled.append(number)
            pickup = self.callee(number)
            if not pickup.answers:
                statuses.append(pickup.status)
                continue
            leg = self._pick_up(number, url, method, caller_id, pickup, doc_url)
            self.legs.append(leg)
            if leg.connected:
                self.seconds += pickup.talks
                return {
                    "DialCallStatus": "completed",
                    "DialCallDuration": str(pickup.talks),
                    "DialCallSid": leg.sid,
                }
            statuses.append("no-answer")
        self.seconds += int(verb.get("timeout", "30"))
        return {"DialCallStatus": _dial_status(statuses), "DialCallDuration": "0"}

    def _pick_up(
        self, number: str, url: str, method: str, caller_id: str, pickup: Pickup, doc_url: str
    ) -> Leg:
        """The called party's own leg: run the Number's url (screening) as Twilio would.

        They are put through when that TwiML runs out; a Hangup there means not connected.
        """
        sid = new_sid("CA")
        if not url:
            return Leg(number, sid, [], True)
        leg = Call(
            self.post,
            self.settings,
            caller_id,
            number,
            sid=sid,
            direction="outbound-dial",
            status_path=None,
            max_documents=self.max_documents,
            extra={"ParentCallSid": self.sid},
            listener=self._leg_listener(number),
        )
        leg._proceed([], "", (method, urljoin(doc_url, url), {}))
        moves = list(pickup.presses)
        for _ in range(MAX_SCREEN_TURNS):
            if leg.ended:
                return Leg(number, sid, leg.spoken, leg.ended_by == "end")
            if moves:
                leg._move("keys", moves.pop(0))
            else:
                leg._move("silence", "")
        raise CallError(f"the screening call to {number} never ended ({MAX_SCREEN_TURNS} turns)")

    # --- requests -----------------------------------------------------------------------

    def _absolute(self, path_or_url: str) -> str:
        base = self.settings.public_base_url.rstrip("/")
        return path_or_url if "://" in path_or_url else base + path_or_url

    def _path(self, url: str) -> str:
        """The path (and query) of a URL at the line; any other host is an error."""
        base = self.settings.public_base_url.rstrip("/")
        if not url.startswith(base + "/"):
            raise CallError(f"the TwiML sends Twilio to {url}, which is not the line at {base}")
        return url[len(base) :]

    def _params(self, added: dict[str, str], status: str) -> dict[str, str]:
        fields = {
            "AccountSid": account_sid(self.settings),
            "To": self.to_number,
            "Direction": self.direction,
            "CallStatus": status,
        }
        return call_params(self.from_number, self.sid, **(fields | self.extra)) | added

    def _send(self, method: str, url: str, params: dict[str, str]) -> tuple[int, str]:
        """One signed request, as Twilio signs it (a GET carries its fields in the query)."""
        if method.upper() == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(params)
            params = {}
        token = self.settings.twilio_auth_token
        headers = {signing.SIGNATURE_HEADER: signing.sign(token, url, params)}
        path = self._path(url)
        status, body = self.post(path, params, headers, method=method.upper())
        self.requests.append(Request(method.upper(), path, params, status))
        return status, body

    def _fetch(self, fetch: Fetch) -> list[ET.Element]:
        """Request a TwiML document and return its verbs."""
        method, url, added = fetch
        ringing = self.direction == "inbound" and not self.requests
        status = "ringing" if ringing else "in-progress"
        code, body = self._send(method, url, self._params(added, status))
        if code != 200:
            raise CallError(f"{method} {self._path(url)} answered HTTP {code}: {body[:200]}")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as error:
            raise CallError(f"{self._path(url)} did not answer TwiML: {error}") from None
        if root.tag != "Response":
            raise CallError(f"{self._path(url)} answered <{root.tag}>, which is not TwiML")
        return list(root)

    def _end(self, how: str) -> None:
        """The call is over; Twilio tells the number's status callback."""
        self.ended, self.ended_by, self._waiting = True, how, None
        if self.status_path:
            params = self._params({"CallDuration": str(round(self.seconds))}, "completed")
            self._send("POST", self._absolute(self.status_path), params)


def _text(verb: ET.Element) -> str:
    return (verb.text or "").strip()


def _speaking_time(text: str) -> float:
    return len(text.split()) / WORDS_PER_SECOND


def _gather(verb: ET.Element, doc_url: str) -> Gather:
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


def _record(verb: ET.Element, doc_url: str) -> Record:
    """A <Record> with Twilio's defaults; no action means the current document's URL."""
    return Record(
        action=urljoin(doc_url, verb.get("action", "")) if verb.get("action") else doc_url,
        method=verb.get("method", "POST"),
        timeout=int(verb.get("timeout", "5")),
        max_length=int(verb.get("maxLength", "3600")),
        finish_on_key=verb.get("finishOnKey", "1234567890*#"),
        play_beep=verb.get("playBeep", "true") == "true",
    )


def _numbers(verb: ET.Element) -> list[tuple[str, str, str]]:
    """(number, screening url, method) for each number a <Dial> rings."""
    if len(verb) == 0:
        return [(_text(verb), "", "POST")]
    found = []
    for noun in verb:
        if noun.tag != "Number":
            raise CallError(f"the call driver dials only <Number>, not <{noun.tag}>")
        found.append((_text(noun), noun.get("url", ""), noun.get("method", "POST")))
    return found


def _dial_status(statuses: list[str]) -> str:
    """The DialCallStatus when nobody was put through."""
    for status in ("no-answer", "busy", "failed"):
        if status in statuses:
            return status
    return "failed"


CALL_HELP = (
    "Digits (and # or *) press keys; an empty line stays silent; 'say: words' speaks "
    "('say@0.4: words' when the line should be unsure); 'hangup' hangs up."
)
SPEECH = re.compile(r"say(?:@(\d*\.?\d+))?:\s*(.*)", re.IGNORECASE)
KEYS = re.compile(r"[0-9*#]+")


def play_line(call: Call, typed: str) -> bool:
    """Apply one typed line to a call as a caller's move; False when it means nothing."""
    typed = typed.strip()
    speech = SPEECH.fullmatch(typed)
    if not typed:
        call.silence()
    elif typed.lower() == "hangup":
        call.hang_up()
    elif KEYS.fullmatch(typed):
        call.press(typed)
    elif speech and speech[2]:
        call.say(speech[2], confidence=float(speech[1] or 1.0))
    else:
        return False
    return True


# --- calls kept for the browser phone (/simulator) -----------------------------------------

CALL_IDLE_SECONDS = 15 * 60  # a call nobody moved on for this long is forgotten
MAX_HELD_CALLS = 100


@dataclass
class HeldCall:
    """A call the browser phone plays, kept between its requests, with every line heard
    on it: (who, line), who being "" for the phone's own person or a dialled number."""

    phone: str
    call: Call | None = None
    heard: list[tuple[str, Spoken]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = 0.0

    def hear(self, who: str, said: Spoken) -> None:
        self.heard.append((who, said))


class HeldCalls:
    """Calls kept in this process's memory by a random id; idle ones expire."""

    def __init__(self, idle: float = CALL_IDLE_SECONDS, most: int = MAX_HELD_CALLS, clock=None):
        self.idle, self.most = idle, most
        self.clock = clock or time.monotonic
        self.calls: dict[str, HeldCall] = {}
        self.lock = threading.Lock()

    def start(self, phone: str, begin: Callable[[Listener], Call]) -> tuple[str, HeldCall]:
        """Begin a call (`begin` is given the listener to pass on) and keep it."""
        held = HeldCall(phone, used=self.clock())
        with held.lock:
            held.call = begin(held.hear)
        call_id = secrets.token_urlsafe(18)
        with self.lock:
            self._forget_idle(room=1)
            self.calls[call_id] = held
        return call_id, held

    def get(self, call_id: str) -> HeldCall | None:
        """A kept call, marked as used now; None when unknown or expired."""
        with self.lock:
            self._forget_idle()
            held = self.calls.get(call_id)
            if held is not None:
                held.used = self.clock()
            return held

    def _forget_idle(self, room: int = 0) -> None:
        """Drop idle calls, then the least recently used until `room` more fit."""
        cutoff = self.clock() - self.idle
        for call_id, held in list(self.calls.items()):
            if held.used < cutoff:
                del self.calls[call_id]
        excess = len(self.calls) - self.most + room
        for call_id in sorted(self.calls, key=lambda k: self.calls[k].used)[: max(excess, 0)]:
            del self.calls[call_id]
