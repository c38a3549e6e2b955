"""A local fake of the Twilio REST endpoints the line uses: create and list Messages and Calls,
delete a message's media and a recording.

A real HTTP/1.1 server on 127.0.0.1 (ephemeral port, standard library only, daemon threads)
that the real `twilio.rest.Client` can talk to through an `http_client` which rewrites
`https://api.twilio.com` to `fake.base_url`. Nothing here ever opens an outbound connection.

    with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        ...  # point the service at fake.base_url
        assert fake.messages[0]["to"] == "+12125551234"

As a pytest fixture:

    @pytest.fixture
    def fake_twilio():
        with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
            yield fake

Responses follow Twilio's OpenAPI description (api.v2010.account.message / .call, 201 on
create) and its error body `{"code", "message", "more_info", "status"}`. Lists (GET) filter
Messages by To, From, DateSent / DateSent< / DateSent> (by UTC day, as Twilio does) and Calls
by To, From; newest first, one page of PageSize (50). The account itself (GET
Accounts/{Sid}.json, its `status` from `account_status`) and the account's numbers (GET
IncomingPhoneNumbers.json, filtered by PhoneNumber; `add_number` adds one with its webhook
URLs), and a Messaging Service (GET v1/Services/{Sid}, `add_service`) answer too, for
`intake check`. Programmable failures: `fail_to`,
`fail_next`, `delay_next`, `hang_next` (accept, then answer too late), `random_faults`,
`clear_failures`.

Photos and recordings: `add_media()` and `add_recording()` store one and return the URL
Twilio would give the line (MediaUrl0, RecordingUrl); DELETE
/Accounts/{Sid}/Messages/{MessageSid}/Media/{Sid}.json and /Accounts/{Sid}/Recordings/{Sid}.json
remove it (204), or answer 404 code 20404 when it is not there; `stored_media`,
`stored_recordings` and `deletes` show what is left and what was asked;
`fail_next_deletes` makes deletes fail. Texts: DELETE /Accounts/{Sid}/Messages/{Sid}.json
deletes a text the line sent, or one it received (`add_received`, as Twilio keeps every
inbound text); `stored_messages` lists the SIDs of those still kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import secrets
import socket
import sys
import threading
from collections import deque
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
MAX_BODY_CHARS = 1600

# Default `message` texts for the error codes tests are likely to program.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21211: "The 'To' number is not a valid phone number.",
    21213: "No 'From' number is specified",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
NUMBER_URLS = ("sms_url", "voice_url", "status_callback", "sms_fallback_url", "voice_fallback_url")
DEFAULT_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

# GSM 03.38: basic set (1 septet) and extension table (escape + 1 septet).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """How many SMS segments Twilio bills for `body` (GSM-7 160/153, else UCS-2 70/67)."""
    if not body:
        return 1
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in body):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def error_body(code: int, status: int, message: str | None = None) -> dict:
    """Twilio's (legacy, non RFC-9457) REST error body."""
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, f"Error {code}"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc2822(when: datetime) -> str:
    return format_datetime(when)  # "Thu, 24 Aug 2023 05:01:45 +0000"


class _Reply(Exception):
    """Raised inside a handler to answer at once with a status and a JSON body."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, code: int | None = None, message: str | None = None, **headers) -> _Reply:
    code = code if code is not None else DEFAULT_CODE_FOR_STATUS.get(status, status)
    return _Reply(status, error_body(code, status, message), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    fake: FakeTwilio

    def handle_error(self, request, client_address):
        # Quiet by design: a client that timed out and hung up is normal here; anything
        # else is kept for the test to see.
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            self.fake._internal_error(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "FakeTwilio/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one send (flushed per request)
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - silence: no stderr per request
        pass

    def setup(self):
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_POST(self):
        self._dispatch("POST")

    def do_GET(self):
        self._dispatch("GET")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str):
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            try:
                status, body, headers = fake._handle(method, self.path, self.headers, raw)
            except _Reply as reply:
                status, body, headers = reply.status, reply.body, reply.headers
            except Exception as exc:  # a bug in the fake: answer 500, keep it for the test
                fake._internal_error(exc)
                status, body, headers = 500, error_body(20500, 500, repr(exc)), {}
            self._send(status, body, headers)
        except OSError:
            self.close_connection = True  # client went away (e.g. its read timed out)

    def _send(self, status: int, body: dict, headers: dict):
        payload = b"" if status == 204 else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class FakeTwilio:
    """Twilio's Messages and Calls endpoints (create, list) on http://127.0.0.1:<ephemeral port>.

    Credentials: HTTP Basic with username = `account_sid` (or any API key `SK...`) and
    password = `auth_token`; else 401 code 20003. A path AccountSid other than
    `account_sid` is 404 code 20404.

    Records (thread-safe snapshots): `messages`, `calls` (accepted creates only, in arrival
    order), `rejected` (creates answered with an error), `requests_count` (every HTTP
    request, any path or outcome), `internal_errors` (bugs in the fake; should stay empty).
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._messages: list[dict] = []
        self._calls: list[dict] = []
        self._rejected: list[dict] = []
        self._internal_errors: list[BaseException] = []
        self._requests_count = 0
        self._fail_to: dict[str, tuple[int, int, str | None]] = {}
        self._fail_next: deque[list] = deque()  # [remaining, status, code, message]
        self._delay_next: deque[list] = deque()  # [remaining, seconds]
        self._hang_next: deque[list] = deque()  # [remaining, seconds]
        self._random: tuple[random.Random, float, float, float, float] | None = None
        self._hung = 0
        self.account_status = "active"  # or "suspended", "closed"
        self._numbers: list[dict] = []
        self._services: dict[str, dict] = {}
        self._media: dict[str, str] = {}  # media sid -> its message sid
        self._recordings: set[str] = set()
        self._received: set[str] = set()  # inbound texts Twilio keeps
        self._deleted_messages: set[str] = set()
        self._deletes: list[dict] = []
        self._fail_deletes: deque[list] = deque()  # [remaining, status, code]

    def add_number(self, phone_number: str, **settings: str) -> None:
        """A number the account owns, with its console settings (sms_url, voice_url,
        status_callback, sms_fallback_url, voice_fallback_url)."""
        with self._lock:
            self._numbers.append({"phone_number": phone_number, **settings})

    def add_service(self, sid: str, **settings) -> None:
        """A Messaging Service of the account (inbound_request_url, fallback_url,
        use_inbound_webhook_on_number), fetched at messaging.twilio.com/v1/Services/{sid}."""
        with self._lock:
            self._services[sid] = {"sid": sid, **settings}

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self._host, self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeTwilio:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in delay_next
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # end idle keep-alive connections so their threads exit
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # --- records ---------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        with self._lock:
            return list(self._messages)

    @property
    def calls(self) -> list[dict]:
        with self._lock:
            return list(self._calls)

    @property
    def rejected(self) -> list[dict]:
        with self._lock:
            return list(self._rejected)

    @property
    def requests_count(self) -> int:
        with self._lock:
            return self._requests_count

    @property
    def hung(self) -> int:
        """How many creates were accepted and then answered too late (hang_next, random)."""
        with self._lock:
            return self._hung

    @property
    def stored_media(self) -> list[str]:
        """SIDs of the photos still stored (added, not deleted)."""
        with self._lock:
            return sorted(self._media)

    @property
    def stored_recordings(self) -> list[str]:
        with self._lock:
            return sorted(self._recordings)

    @property
    def stored_messages(self) -> list[str]:
        """SIDs of the texts (sent by the line, or received) still kept, body and all."""
        with self._lock:
            kept = {m["sid"] for m in self._messages} | self._received
            return sorted(kept - self._deleted_messages)

    def add_received(self, *message_sids: str) -> None:
        """Keep texts the line received (their MessageSid), as Twilio keeps every one."""
        with self._lock:
            self._received.update(message_sids)

    @property
    def deletes(self) -> list[dict]:
        """Every DELETE of a media item, recording or text: kind, sid, the status answered."""
        with self._lock:
            return list(self._deletes)

    def add_media(self) -> str:
        """Store a photo as Twilio keeps an MMS's media; returns its MediaUrl."""
        message_sid, sid = "MM" + secrets.token_hex(16), "ME" + secrets.token_hex(16)
        with self._lock:
            self._media[sid] = message_sid
        return (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}"
            f"/Messages/{message_sid}/Media/{sid}"
        )

    def add_recording(self) -> str:
        """Store a call recording; returns its RecordingUrl."""
        sid = "RE" + secrets.token_hex(16)
        with self._lock:
            self._recordings.add(sid)
        return f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"

    @property
    def internal_errors(self) -> list[BaseException]:
        with self._lock:
            return list(self._internal_errors)

    def reset(self) -> None:
        """Forget everything received, every programmed failure or delay, and the numbers."""
        with self._lock:
            self._messages.clear()
            self._calls.clear()
            self._rejected.clear()
            self._internal_errors.clear()
            self._requests_count = 0
            self._fail_to.clear()
            self._fail_next.clear()
            self._delay_next.clear()
            self._hang_next.clear()
            self._random = None
            self._hung = 0
            self._numbers.clear()
            self._services.clear()
            self.account_status = "active"
            self._media.clear()
            self._recordings.clear()
            self._received.clear()
            self._deleted_messages.clear()
            self._deletes.clear()
            self._fail_deletes.clear()

    # --- programmable failures -------------------------------------------------------

    def fail_to(self, number: str, code: int, status: int = 400, message: str | None = None):
        """Every create (message or call) whose To is exactly `number` answers this error."""
        with self._lock:
            self._fail_to[number] = (code, status, message)

    def fail_next(
        self, n: int = 1, status: int = 500, code: int | None = None, message: str | None = None
    ):
        """The next `n` creates, to any number, answer HTTP `status` with Twilio's error JSON.

        `code` defaults to 20429 for 429, 20500 for 500, 20503 for 503, else `status`.
        Calls queue up: fail_next(2, 500); fail_next(1, 429) -> 500, 500, 429.
        """
        if n > 0:
            code = code if code is not None else DEFAULT_CODE_FOR_STATUS.get(status, status)
            with self._lock:
                self._fail_next.append([n, status, code, message])

    def fail_next_deletes(self, n: int = 1, status: int = 500, code: int | None = None):
        """The next `n` deletes (media or recording) answer HTTP `status`, deleting nothing."""
        if n > 0:
            code = code if code is not None else DEFAULT_CODE_FOR_STATUS.get(status, status)
            with self._lock:
                self._fail_deletes.append([n, status, code])

    def delay_next(self, n: int, seconds: float):
        """The next `n` creates wait `seconds` before being handled (then answer normally)."""
        if n > 0:
            with self._lock:
                self._delay_next.append([n, seconds])

    def hang_next(self, n: int, seconds: float):
        """The next `n` creates are accepted (the message or call exists and is listed at
        once), then the answer waits `seconds`: a client with a shorter timeout sees a
        timeout for a text Twilio took."""
        if n > 0:
            with self._lock:
                self._hang_next.append([n, seconds])

    def random_faults(
        self,
        seed: int,
        error_500: float = 0.0,
        error_429: float = 0.0,
        hang: float = 0.0,
        hang_seconds: float = 2.0,
    ):
        """From now on, each request fails at random: HTTP 500 or 429 (any request, lists
        too: nothing created) or, for creates, accepted then answered after `hang_seconds`
        (like hang_next). The rates are fractions of requests; `seed` makes a run repeat."""
        with self._lock:
            self._random = (random.Random(seed), error_500, error_429, hang, hang_seconds)

    def clear_failures(self) -> None:
        with self._lock:
            self._fail_to.clear()
            self._fail_next.clear()
            self._delay_next.clear()
            self._hang_next.clear()
            self._random = None
            self._fail_deletes.clear()

    # --- request handling (runs on server threads) -----------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _internal_error(self, exc: BaseException) -> None:
        with self._lock:
            self._internal_errors.append(exc)

    def _handle(self, method: str, target: str, headers, raw: bytes):
        with self._lock:
            self._requests_count += 1
        path = urlsplit(target).path
        parts = path.strip("/").split("/")
        if method == "DELETE":
            return self._delete(path, parts, headers)
        if parts[:2] == ["v1", "Services"] and len(parts) == 3 and method == "GET":
            self._authenticate(headers.get("Authorization"))
            return 200, self._service(path, parts[2]), {}
        # 2010-04-01 / Accounts / {AccountSid}.json | {AccountSid} / Messages.json | ...
        if len(parts) not in (3, 4) or parts[0] != API_VERSION or parts[1] != "Accounts":
            raise _error(404, 20404, f"The requested resource {path} was not found")
        self._authenticate(headers.get("Authorization"))
        if parts[2].removesuffix(".json" if len(parts) == 3 else "") != self.account_sid:
            raise _error(404, 20404, f"The requested resource {path} was not found")
        if len(parts) == 3 and method == "GET":
            return 200, self._account(path), {}
        if parts[-1] == "IncomingPhoneNumbers.json" and method == "GET":
            return 200, self._numbers_page(path, parse_qs(urlsplit(target).query)), {}
        kind = {"Messages.json": "message", "Calls.json": "call"}.get(parts[-1])
        if kind is None:
            raise _error(404, 20404, f"The requested resource {path} was not found")
        if method == "GET":
            self._random_error()
            return 200, self._list(kind, path, parse_qs(urlsplit(target).query)), {}
        if method != "POST":
            raise _error(405, 20004, "Method not allowed")
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        received_at = _now()
        try:
            self._programmed(form.get("To", [""])[0])
            hang = self._hang()
            if kind == "message":
                created = self._create_message(path, form, received_at)
            else:
                created = self._create_call(path, form, received_at)
            if hang:
                with self._lock:
                    self._hung += 1
                self._stopping.wait(hang)  # accepted; the answer comes too late
            return 201, created, {}
        except _Reply as reply:
            with self._lock:
                self._rejected.append(
                    {
                        "kind": kind,
                        "to": form.get("To", [None])[0],
                        "status": reply.status,
                        "code": reply.body.get("code"),
                        "params": form,
                        "received_at": received_at,
                    }
                )
            raise

    def _delete(self, path: str, parts: list[str], headers):
        """DELETE a message's media item, a recording or a text: 204, or 404 when not stored."""
        missing = _error(404, 20404, f"The requested resource {path} was not found")
        if len(parts) < 5 or parts[0] != API_VERSION or parts[1] != "Accounts":
            raise missing
        self._authenticate(headers.get("Authorization"))
        if parts[2] != self.account_sid or not parts[-1].endswith(".json"):
            raise missing
        sid = parts[-1][: -len(".json")]
        if len(parts) == 7 and parts[3] == "Messages" and parts[5] == "Media":
            kind, message_sid = "media", parts[4]
        elif len(parts) == 5 and parts[3] == "Recordings":
            kind, message_sid = "recording", None
        elif len(parts) == 5 and parts[3] == "Messages":
            kind, message_sid = "message", None
        else:
            raise _error(405, 20004, "Method not allowed")
        with self._lock:
            failure = None
            if self._fail_deletes:
                entry = self._fail_deletes[0]
                failure = (entry[1], entry[2])
                entry[0] -= 1
                if entry[0] <= 0:
                    self._fail_deletes.popleft()
            if failure is not None:
                status = failure[0]
            elif kind == "media" and self._media.get(sid) == message_sid:
                del self._media[sid]
                status = 204
            elif kind == "recording" and sid in self._recordings:
                self._recordings.discard(sid)
                status = 204
            elif (
                kind == "message"
                and sid not in self._deleted_messages
                and (sid in self._received or any(m["sid"] == sid for m in self._messages))
            ):
                self._deleted_messages.add(sid)
                status = 204
            else:
                status = 404
            self._deletes.append({"kind": kind, "sid": sid, "status": status})
        if failure is not None:
            raise _error(*failure)
        if status == 404:
            raise missing
        return 204, {}, {}

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise _error(
                401,
                20003,
                "Authentication Error - No credentials provided",
                **{"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        scheme, _, value = header.partition(" ")
        try:
            username, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        known_user = username == self.account_sid or username.startswith("SK")
        if scheme.lower() != "basic" or not known_user or password != self.auth_token:
            raise _error(
                401,
                20003,
                "Authenticate",
                **{"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )

    def _programmed(self, to: str) -> None:
        """Apply delay_next, then fail_next, then fail_to (each consumed under the lock)."""
        delay = failure = None
        with self._lock:
            if self._delay_next:
                entry = self._delay_next[0]
                delay = entry[1]
                entry[0] -= 1
                if entry[0] <= 0:
                    self._delay_next.popleft()
            if self._fail_next:
                entry = self._fail_next[0]
                failure = (entry[1], entry[2], entry[3])
                entry[0] -= 1
                if entry[0] <= 0:
                    self._fail_next.popleft()
            target = self._fail_to.get(to)
        if delay:
            self._stopping.wait(delay)
        if failure is not None:
            status, code, message = failure
            raise _error(status, code, message)
        if target is not None:
            code, status, message = target
            raise _error(status, code, message)

    def _random_error(self) -> None:
        with self._lock:
            if self._random is None:
                return
            rng, error_500, error_429, _, _ = self._random
            roll = rng.random()
        if roll < error_500:
            raise _error(500)
        if roll < error_500 + error_429:
            raise _error(429)

    def _hang(self) -> float:
        """Seconds to hold a create's answer after accepting it (0: answer at once).
        Random 500/429 are raised here too, before anything is created."""
        with self._lock:
            if self._hang_next:
                entry = self._hang_next[0]
                entry[0] -= 1
                if entry[0] <= 0:
                    self._hang_next.popleft()
                return entry[1]
        self._random_error()
        with self._lock:
            if self._random is None:
                return 0.0
            rng, _, _, hang, hang_seconds = self._random
            return hang_seconds if rng.random() < hang else 0.0

    def _list(self, kind: str, path: str, query: dict) -> dict:
        """One page of Messages or Calls, newest first, filtered as Twilio filters."""

        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        def day(value: str) -> date:
            return date.fromisoformat(value[:10])

        records = self.messages if kind == "message" else self.calls
        to, from_ = one("To"), one("From")
        on, before, after = one("DateSent"), one("DateSent<"), one("DateSent>")
        found = []
        for record in reversed(records):
            sent = record["received_at"].date()
            if to and record["to"] != to:
                continue
            if from_ and record["from_"] != from_:
                continue
            if kind == "message" and (
                (on and sent != day(on))
                or (before and sent > day(before))
                or (after and sent < day(after))
            ):
                continue
            found.append(record)
        size = min(int(one("PageSize") or 50), 1000)
        items = [
            self._message_resource(path, r) if kind == "message" else self._call_resource(path, r)
            for r in found[:size]
        ]
        key = "messages" if kind == "message" else "calls"
        uri = f"{path}?PageSize={size}&Page=0"
        return {
            key: items,
            "end": max(len(items) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _account(self, path: str) -> dict:
        """The account as Twilio shows it (api.v2010.account)."""
        return {
            "auth_token": None,
            "date_created": _rfc2822(_now()),
            "date_updated": _rfc2822(_now()),
            "friendly_name": "Fake account",
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {},
            "type": "Full",
            "uri": path,
        }

    def _service(self, path: str, sid: str) -> dict:
        """A Messaging Service as Twilio shows it (messaging.v1.service); 404 if unknown."""
        with self._lock:
            service = self._services.get(sid)
        if service is None:
            raise _error(404, 20404, f"The requested resource {path} was not found")
        return {
            "account_sid": self.account_sid,
            "friendly_name": "Fake service",
            "inbound_request_url": None,
            "inbound_method": "POST",
            "fallback_url": None,
            "fallback_method": "POST",
            "use_inbound_webhook_on_number": False,
            "url": path,
            **service,
        }

    def _numbers_page(self, path: str, query: dict) -> dict:
        """One page of the account's numbers, filtered by PhoneNumber as Twilio filters."""
        wanted = query.get("PhoneNumber", [None])[0]
        with self._lock:
            numbers = [n for n in self._numbers if not wanted or n["phone_number"] == wanted]
        items = [
            {
                "account_sid": self.account_sid,
                "sid": "PN" + secrets.token_hex(16),
                "friendly_name": n["phone_number"],
                "sms_method": "POST",
                "voice_method": "POST",
                "status_callback_method": "POST",
                **{field: None for field in NUMBER_URLS},
                **n,
            }
            for n in numbers
        ]
        uri = f"{path}?PageSize=50&Page=0"
        return {
            "incoming_phone_numbers": items,
            "end": max(len(items) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _create_message(self, path: str, form: dict, received_at: datetime) -> dict:
        to = form.get("To", [""])[0]
        from_ = form.get("From", [""])[0]
        service = form.get("MessagingServiceSid", [""])[0]
        body = form.get("Body", [""])[0]
        media = [u for u in form.get("MediaUrl", []) if u]
        if not to:
            raise _error(400, 21604)
        if not from_ and not service:
            raise _error(400, 21603)
        if not body and not media:
            raise _error(400, 21602)
        if len(body) > MAX_BODY_CHARS:
            raise _error(400, 21617)
        # Twilio gives MMS an "MM" SID and SMS an "SM" SID.
        sid = ("MM" if media else "SM") + secrets.token_hex(16)
        status_callback = form.get("StatusCallback", [None])[0]
        record = {
            "sid": sid,
            "to": to,
            "from_": from_ or None,
            "body": body,
            "media_urls": media,
            "status_callback": status_callback,
            "messaging_service_sid": service or None,
            "received_at": received_at,
            "params": form,
        }
        with self._lock:
            self._messages.append(record)
        return {**self._message_resource(path, record), "date_sent": None, "status": "queued"}

    def _message_resource(self, path: str, record: dict) -> dict:
        """A message as Twilio shows it; listed, it has been sent (at once, here)."""
        sid, body, media = record["sid"], record["body"], record["media_urls"]
        from_, service, to = record["from_"], record["messaging_service_sid"], record["to"]
        created = _rfc2822(record["received_at"])
        uri = f"{path[: -len('.json')]}/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": created,
            "date_sent": created,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": service or None,
            "num_media": str(len(media)),
            "num_segments": str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "sent",
            "subresource_uris": {"media": f"{uri[: -len('.json')]}/Media.json"},
            "to": to,
            "uri": uri,
        }

    def _create_call(self, path: str, form: dict, received_at: datetime) -> dict:
        to = form.get("To", [""])[0]
        from_ = form.get("From", [""])[0]
        url = form.get("Url", [""])[0]
        twiml = form.get("Twiml", [""])[0]
        application = form.get("ApplicationSid", [""])[0]
        if not to:
            raise _error(400, 21201)
        if not from_:
            raise _error(400, 21213)
        if not url and not twiml and not application:
            raise _error(400, 21205)
        sid = "CA" + secrets.token_hex(16)
        status_callback = form.get("StatusCallback", [None])[0]
        record = {
            "sid": sid,
            "to": to,
            "from_": from_,
            "url": url or None,
            "twiml": twiml or None,
            "status_callback": status_callback,
            "received_at": received_at,
            "params": form,
        }
        with self._lock:
            self._calls.append(record)
        return self._call_resource(path, record)

    def _call_resource(self, path: str, record: dict) -> dict:
        sid, from_, to = record["sid"], record["from_"], record["to"]
        created = _rfc2822(record["received_at"])
        uri = f"{path[: -len('.json')]}/{sid}.json"
        base = uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": created,
            "date_updated": created,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": from_,
            "from_formatted": from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "events": f"{base}/Events.json",
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": uri,
        }
