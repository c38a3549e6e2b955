"""How an outbound text or call leaves the line: Twilio's REST API, or a local outbox."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from intake.domain.enums import Medium, TwilioFileKind
from intake.infra.config import Settings

T = TypeVar("T")
OPTED_OUT = 21610
CANNOT_TEXT = frozenset({21612, 21614})  # cannot route here; not a mobile number (a landline)
PERMANENT_CODES = {21211, 21614, 21408, 21606, 21612, 30034}
RETRY_CODES = {20429}
REQUEST_TIMEOUT = 10.0  # seconds at most; a hung request must not outlive its lease
LOOKUP_LIMIT = 50  # a lookup reads at most this many of Twilio's newest matches
SKEW = timedelta(minutes=5)  # clocks (ours, Twilio's) may disagree by this much
AMBIGUOUS_STATUS = {502, 504}  # a gateway gave up: Twilio behind it may have taken the text


class SendError(Exception):
    """Sending failed. `retry` says whether trying again later may work; `ambiguous`, that
    the request may have reached Twilio (a timeout or a connection dropped after it was
    written), so the text may exist there: look it up before sending it again."""

    def __init__(
        self, reason: str, code: int | None = None, retry: bool = False, ambiguous: bool = False
    ):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retry = retry
        self.ambiguous = ambiguous

    @property
    def opted_out(self) -> bool:
        return self.code == OPTED_OUT


@dataclass(frozen=True)
class Outgoing:
    """What a transport needs to send one text or place one call."""

    to: str
    body: str = ""
    status_callback: str | None = None
    call_url: str | None = None  # for calls: where Twilio fetches the TwiML


@dataclass(frozen=True)
class TwilioFile:
    """A photo (one media item of a message), a call recording or a text kept at Twilio."""

    kind: str  # media | recording | message
    account_sid: str
    sid: str
    message_sid: str | None = None  # the message a media item belongs to


class Transport(Protocol):
    def send_sms(self, message: Outgoing) -> str: ...

    def place_call(self, message: Outgoing) -> str: ...

    def find_sent(self, message: Outgoing, channel: str, since: datetime) -> list[str]: ...

    def delete_file(self, file: TwilioFile) -> None: ...


class RedirectingHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to another base URL (a local emulator or fake)."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT):
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


class TwilioTransport:
    """The real `twilio` REST client, one per sender thread (its HTTP session is not shared)."""

    def __init__(self, settings: Settings, timeout: float | None = None):
        self.settings = settings
        # a send started before half the lease is gone ends before the lease does
        self.timeout = timeout or min(REQUEST_TIMEOUT, settings.send_lease.total_seconds() / 4)
        self.local = threading.local()
        self.sender = (
            {"messaging_service_sid": settings.twilio_messaging_service_sid}
            if settings.twilio_messaging_service_sid
            else {"from_": settings.twilio_phone_number}
        )
        self.caller_id = settings.twilio_phone_number

    @property
    def client(self) -> Client:
        if not hasattr(self.local, "client"):
            base = self.settings.twilio_api_base_url
            http_client = (
                RedirectingHttpClient(base, self.timeout)
                if base
                else TwilioHttpClient(timeout=self.timeout)
            )
            self.local.client = Client(
                self.settings.twilio_account_sid,
                self.settings.twilio_auth_token,
                http_client=http_client,
            )
        return self.local.client

    def send_sms(self, message: Outgoing) -> str:
        extra = {"status_callback": message.status_callback} if message.status_callback else {}
        return _call_twilio(
            lambda: (
                self.client.messages.create(
                    to=message.to, body=message.body, **self.sender, **extra
                ).sid
            )
        )

    def place_call(self, message: Outgoing) -> str:
        extra = {"status_callback": message.status_callback} if message.status_callback else {}
        return _call_twilio(
            lambda: (
                self.client.calls.create(
                    to=message.to, from_=self.caller_id, url=message.call_url, **extra
                ).sid
            )
        )

    def find_sent(self, message: Outgoing, channel: str, since: datetime) -> list[str]:
        """SIDs of texts (or calls) this line sent to `message.to` since `since` that match
        it (same body; for a call, any call): newest first. Raises SendError when Twilio
        cannot be asked."""
        if channel == Medium.VOICE:
            return _call_twilio(lambda: self._find_calls(message, since))
        return _call_twilio(lambda: self._find_messages(message, since))

    def _find_messages(self, message: Outgoing, since: datetime) -> list[str]:
        # Not Twilio's DateSent filter: a text still queued at Twilio (1 a second per long
        # code: minutes, in a burst) has no date_sent yet and would not be listed. Its
        # date_created is set when Twilio takes it: filter on that here.
        service = self.sender.get("messaging_service_sid")
        sender = {} if service else {"from_": self.settings.twilio_phone_number}
        found = self.client.messages.list(
            to=message.to, limit=LOOKUP_LIMIT, page_size=LOOKUP_LIMIT, **sender
        )
        return [
            m.sid
            for m in found
            if m.body == message.body
            and (not service or m.messaging_service_sid == service)
            and m.date_created is not None
            and m.date_created >= since - SKEW
        ]

    def _find_calls(self, message: Outgoing, since: datetime) -> list[str]:
        # StartTime is empty until a call starts ringing: filter by creation time here
        found = self.client.calls.list(
            to=message.to, from_=self.caller_id, limit=LOOKUP_LIMIT, page_size=LOOKUP_LIMIT
        )
        return [c.sid for c in found if c.date_created and c.date_created >= since - SKEW]

    def delete_file(self, file: TwilioFile) -> None:
        """Delete a photo, recording or text at Twilio; one already gone counts as deleted.
        Raises SendError when Twilio cannot be asked or refuses."""
        account = self.client.api.v2010.accounts(file.account_sid)
        if file.kind == TwilioFileKind.MEDIA:
            resource = account.messages(file.message_sid).media(file.sid)
        elif file.kind == TwilioFileKind.MESSAGE:
            resource = account.messages(file.sid)
        else:
            resource = account.recordings(file.sid)
        _call_twilio(lambda: _delete(resource))


def _delete(resource) -> None:
    """DELETE one Twilio resource; a 404 means it is already gone, which is what we want."""
    try:
        resource.delete()
    except TwilioRestException as error:
        if error.status != 404:
            raise


class LocalTransport:
    """No Twilio credentials: the row itself is the message; the simulator shows it."""

    def send_sms(self, message: Outgoing) -> str:
        return "LOCAL" + uuid.uuid4().hex

    def place_call(self, message: Outgoing) -> str:
        return "LOCAL" + uuid.uuid4().hex

    def find_sent(self, message: Outgoing, channel: str, since: datetime) -> list[str]:
        return []  # a local send never fails halfway

    def delete_file(self, file: TwilioFile) -> None:
        """Nothing is kept at Twilio without Twilio."""


def make_transport(settings: Settings) -> Transport:
    return TwilioTransport(settings) if settings.uses_twilio else LocalTransport()


def _call_twilio(send: Callable[[], T]) -> T:
    """Run one REST call and turn every failure into a SendError that says what to do."""
    try:
        return send()
    except TwilioRestException as error:
        raise _classify(error) from None
    except requests.RequestException as error:
        reason = f"network: {type(error).__name__}"
        raise SendError(reason, retry=True, ambiguous=_may_have_arrived(error)) from None
    except TwilioException as error:  # e.g. an answer that could not be read
        raise SendError(f"twilio: {type(error).__name__}", retry=True, ambiguous=True) from None


def _may_have_arrived(error: requests.RequestException) -> bool:
    """Whether the request may have reached Twilio. Only a connection that was never made
    (refused, a name that did not resolve, a connect timeout) is certain not to have."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    if isinstance(error, requests.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return not isinstance(reason, NewConnectionError)
    return True


def _classify(error: TwilioRestException) -> SendError:
    code = error.code
    status = error.status
    if code == OPTED_OUT:
        return SendError("recipient opted out (21610)", code=code)
    if code in PERMANENT_CODES:
        return SendError(f"twilio error {code}", code=code)
    if status == 429 or code in RETRY_CODES or status >= 500:
        reason = f"twilio http {status} (code {code})"
        return SendError(reason, code=code, retry=True, ambiguous=status in AMBIGUOUS_STATUS)
    return SendError(f"twilio http {status} (code {code})", code=code)
