"""`intake check`: is this configuration ready for real callers? One plain line a check.

Every rule lives where the line itself uses it (config, migrate, crypto, roster, startup);
this module asks each of them, and Twilio, and says what is wrong and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from sqlalchemy.exc import SQLAlchemyError
from twilio.base.exceptions import TwilioException, TwilioRestException

from intake import startup
from intake.core.webhooks import CONSOLE, SMS_PATH
from intake.domain.escalation_plan import describe
from intake.infra import config, crypto
from intake.infra.clock import SYSTEM
from intake.infra.config import ConfigError, Settings
from intake.infra.db import Database, DatabaseBusy
from intake.infra.migrate import readiness
from intake.oncall import roster

OK, WARN, FAIL = "ok", "warn", "FAIL"
LOCAL_MODE = (
    "TWILIO_ACCOUNT_SID is not set: the line runs in local mode (texts stay in a local "
    "outbox and nobody is woken). Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
    "TWILIO_PHONE_NUMBER."
)
HOOKS = CONSOLE  # what the number's settings in the Twilio console point at
FALLBACK_WARNING = (
    "when the line is down, Twilio says nothing. Point it at the TwiML Bin made from "
    "`intake fallback-twiml"
)
FALLBACKS = (
    ("sms_fallback_url", "messaging", "--sms"),
    ("voice_fallback_url", "voice", "--voice"),
)


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ok, warn (works, but fix it) or FAIL, with a plain sentence."""

    outcome: str
    subject: str
    text: str

    def __str__(self) -> str:
        return f"{self.outcome:<4}  {self.subject}: {self.text}"


def ok(subject: str, text: str) -> Finding:
    return Finding(OK, subject, text)


def warn(subject: str, text: str) -> Finding:
    return Finding(WARN, subject, text)


def fail(subject: str, text: str) -> Finding:
    return Finding(FAIL, subject, text)


def run(env: Mapping[str, str] | None = None) -> Iterator[Finding]:
    """Every check, in the order an operator fixes things; settings read as production does."""
    env = os.environ if env is None else env
    try:
        settings = Settings.from_env(env)
    except ConfigError as error:
        for problem in str(error).splitlines():
            yield fail("configuration", problem)
        return
    yield ok("configuration", "every setting has the right shape")
    yield from secrets(settings, env)
    yield from public_url(settings)
    db = Database(settings.database_url, settings.data_key_ring())
    try:
        yield from database(db, settings)
    finally:
        db.dispose()
    yield from twilio(settings)


def secrets(settings: Settings, env: Mapping[str, str]) -> Iterator[Finding]:
    """SECRET_KEY and INTAKE_DATA_KEYS come from the environment, the same on every host."""
    if (env.get("SECRET_KEY") or "").strip():
        yield ok("SECRET_KEY", "set")
    else:
        yield fail(
            "SECRET_KEY",
            "not set: a key generated into the instance folder is used, different on each "
            "host. Set SECRET_KEY to a long random string (python3 -c "
            '"import secrets; print(secrets.token_hex(32))").',
        )
    if (env.get("INTAKE_DATA_KEYS") or "").strip():
        yield ok("INTAKE_DATA_KEYS", f"{len(settings.data_keys)} key(s), the first encrypts")
    else:
        yield fail(
            "INTAKE_DATA_KEYS",
            "not set: the children's data is encrypted with a key generated into the "
            "instance folder, lost with that folder and unknown to other hosts. Set it; "
            f"make one with {crypto.MAKE_A_KEY}.",
        )


def public_url(settings: Settings) -> Iterator[Finding]:
    """https, as config's start-up warning wants; with Twilio, https with no exception."""
    problems = config.warnings(settings)
    if settings.uses_twilio and urlsplit(settings.public_base_url).scheme != "https":
        problems = problems or [
            "PUBLIC_BASE_URL is not https: Twilio cannot reach a local address, and its "
            "webhooks must travel encrypted."
        ]
    for problem in problems:
        yield fail("PUBLIC_BASE_URL", f"{problem} Set it to the https address Twilio calls.")
    if not problems:
        yield ok("PUBLIC_BASE_URL", settings.public_base_url)


def database(db: Database, settings: Settings) -> Iterator[Finding]:
    """Reachable, at the newest migration, readable with the keys, someone to wake."""
    state = readiness(db.engine)
    if state.database != "ok":
        yield fail("database", state.problem or "does not answer")
        return
    yield ok("database", f"answers ({db.engine.url.get_backend_name()})")
    if not state.ready:
        yield fail("migrations", state.problem or "not at the newest migration")
        return
    yield ok("migrations", "at the newest migration")
    try:
        with db.engine.connect() as conn:
            crypto.check(conn, settings.data_key_ring())
        with db.sessions() as session:
            yield from on_call(session, settings)
    except crypto.DataKeyError as error:
        yield fail("INTAKE_DATA_KEYS", str(error))
    except (SQLAlchemyError, DatabaseBusy):
        yield fail("database", "stopped answering during the check: run it again.")


def on_call(session, settings: Settings) -> Iterator[Finding]:
    """Someone reachable in general (or the fallback number), and who is on call now."""
    if roster.nobody_to_alert(session, settings):
        yield fail("on-call roster", startup.nobody_to_alert())
        return
    people = roster.people(session)
    now_on = roster.chain(session, SYSTEM.now(), settings.zone)
    if people:
        yield ok("on-call roster", f"{len(people)} reachable, {len(now_on)} on call now")
    yield ok("escalation plan", describe(settings.plan))  # INTAKE_ESCALATION_PLAN, or the default
    if people and not now_on:
        yield warn(
            "on-call roster",
            "nobody's window covers now: an alert now goes to the fallback number "
            "and waits for the next window (`intake oncall list`).",
        )
    if not settings.fallback_alert_number:
        yield warn(
            "INTAKE_FALLBACK_ALERT_NUMBER",
            "not set: nobody is woken when no one is on call or nobody acknowledges. Set it.",
        )


def twilio(settings: Settings) -> Iterator[Finding]:
    """The credentials against Twilio's API: the account, then the line's number."""
    if not settings.uses_twilio:
        yield fail("Twilio", LOCAL_MODE)
        return
    from intake.infra.transport import TwilioTransport

    client = TwilioTransport(settings).client
    try:
        account = client.api.v2010.accounts(settings.twilio_account_sid).fetch()
    except (TwilioException, requests.RequestException) as error:
        yield fail("Twilio", _twilio_failure(error))
        return
    if account.status != "active":
        yield fail("Twilio", f"the account is {account.status}: sending and calls stop.")
        return
    yield ok("Twilio", "the account and auth token are accepted; the account is active")
    texts_to_number = yield from messaging_service(client, settings)
    yield from phone_number(client, settings, texts_to_number)


def _twilio_failure(error: Exception) -> str:
    if isinstance(error, TwilioRestException) and error.status in (401, 403, 404):
        return (
            "Twilio refused TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN: copy both again from "
            "the Twilio console (Account info)."
        )
    if isinstance(error, TwilioRestException):
        return f"Twilio answered HTTP {error.status} (error {error.code}): try again later."
    return f"Twilio's API did not answer ({type(error).__name__}): check the network."


def messaging_service(client, settings: Settings) -> Generator[Finding, None, bool]:
    """TWILIO_MESSAGING_SERVICE_SID is the account's, and sends texts to this line. True
    when the number's own messaging webhook takes the texts (no service, or it defers)."""
    sid = settings.twilio_messaging_service_sid
    if not sid:
        return True
    subject = "TWILIO_MESSAGING_SERVICE_SID"
    try:
        service = client.messaging.v1.services(sid).fetch()
    except (TwilioException, requests.RequestException) as error:
        if isinstance(error, TwilioRestException) and error.status == 404:
            yield fail(subject, "not a Messaging Service of this Twilio account.")
        else:
            yield fail(subject, _twilio_failure(error))
        return False
    if service.use_inbound_webhook_on_number:
        yield ok(subject, "texts go to the number's own webhook (checked below)")
        return True
    wanted = settings.public_base_url + SMS_PATH
    if service.inbound_request_url == wanted:
        yield ok(subject, f"texts come to {wanted}")
    else:
        yield fail(
            subject,
            f"its Integration page must send a webhook to POST {wanted}: set it there.",
        )
    if not service.fallback_url:
        yield warn(subject, f"no fallback URL: {FALLBACK_WARNING} --sms`.")
    return False


def phone_number(client, settings: Settings, texts_to_number: bool = True) -> Iterator[Finding]:
    """TWILIO_PHONE_NUMBER belongs to the account, and its webhooks point at this line."""
    number = settings.twilio_phone_number
    if not number:
        return  # a Messaging Service alone: checked at the first send
    try:
        found = client.incoming_phone_numbers.list(phone_number=number, limit=1)
    except (TwilioException, requests.RequestException) as error:
        yield fail("TWILIO_PHONE_NUMBER", _twilio_failure(error))
        return
    if not found:
        yield fail(
            "TWILIO_PHONE_NUMBER",
            "not a number of this Twilio account: texts and calls would be refused. "
            "Copy it from Phone Numbers > Active numbers in the console.",
        )
        return
    yield ok("TWILIO_PHONE_NUMBER", "a number of this account")
    yield from webhooks(found[0], settings, texts_to_number)


def webhooks(number, settings: Settings, texts_to_number: bool = True) -> Iterator[Finding]:
    """Each webhook the README's step by step sets, as Twilio has it now."""
    for field, path, label in HOOKS:
        if field == "sms_url" and not texts_to_number:
            continue  # the Messaging Service's own webhook takes the texts
        wanted = settings.public_base_url + path
        if getattr(number, field, None) == wanted:
            yield ok(f"number's {label}", wanted)
        else:
            yield fail(f"number's {label}", f"must be POST {wanted}: set it on the number.")
    for field, kind, flag in FALLBACKS:
        if flag == "--sms" and not texts_to_number:
            continue
        if not getattr(number, field, None):
            yield warn(f"number's {kind} fallback URL", f"not set: {FALLBACK_WARNING} {flag}`.")
