"""A phone call driven as Twilio drives it: it posts signed webhooks and follows the TwiML
that comes back, while a test, the browser phone or the terminal plays the caller."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from intake.channels.twiml_read import (
    Callee,
    CallEnded,
    CallError,
    Fetch,
    Gather,
    Leg,
    Listener,
    Pickup,
    Record,
    Recording,
    Request,
    Spoken,
    Waiting,
    dial_status,
    gather_of,
    nobody_answers,
    numbers_of,
    record_of,
    speaking_time,
    verb_text,
)
from intake.core.webhooks import VOICE_PATH, VOICE_STATUS_PATH
from intake.infra import signing
from intake.infra.config import Settings
from intake.simulator.twilio_requests import (
    ACCOUNT_SID,
    LINE_NUMBER,
    Post,
    account_sid,
    call_params,
    line_number,
    new_sid,
)

MAX_DOCUMENTS = 50  # TwiML documents one caller move may lead through (Redirect loops)
MAX_SCREEN_TURNS = 10  # Gathers a screened person may be asked before the driver gives up


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
    _waiting: Waiting | None = field(default=None, repr=False)

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

    def _check_live(self) -> Waiting:
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
            self.seconds += speaking_time(value)
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
        duration = min(record.max_length, max(1, round(speaking_time(value))))
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
                self._waiting = Waiting(gather_of(verb, doc_url), verbs[i + 1 :], doc_url)
                return None
            elif verb.tag == "Record":
                self._waiting = Waiting(record_of(verb, doc_url), verbs[i + 1 :], doc_url)
                return None
            elif verb.tag == "Redirect":
                return verb.get("method", "POST"), urljoin(doc_url, verb_text(verb)), {}
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
            self._hear(Spoken(f"[plays {verb_text(verb)}]", "", ""))
            return
        if verb.tag != "Say":
            raise CallError(f"<{verb.tag}> cannot be spoken")
        text = " ".join("".join(verb.itertext()).split())  # SSML inside is read as words
        for _ in range(max(1, int(verb.get("loop", "1")))):
            self._hear(Spoken(text, verb.get("language", "en-US"), verb.get("voice", "")))
            self.seconds += speaking_time(text)

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
        for number, url, method in numbers_of(verb):
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
        return {"DialCallStatus": dial_status(statuses), "DialCallDuration": "0"}

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
