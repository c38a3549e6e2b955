"""Settings, only from environment variables, checked once at start-up (each value is
read and checked by intake/infra/readenv.py)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cryptography.fernet import MultiFernet

from intake.domain.escalation_plan import Plan, default_plan
from intake.infra import crypto, phones, sids
from intake.infra.readenv import (  # noqa: F401  (re-exported: where settings are read from)
    MAX_ORG_NAME,
    ConfigError,
    database_url_problem,
    parse_duration,
)
from intake.infra.readenv import Reader as _Reader

CHECKOUT = Path(__file__).resolve().parents[2]
# instance/ in the checkout; an installed package (no pyproject.toml above it) keeps it in
# the directory the line starts in, not inside site-packages
INSTANCE_DIR = (CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else Path.cwd()) / "instance"
DEFAULT_FOLLOWUPS = tuple(timedelta(minutes=m) for m in (15, 60, 3 * 60, 8 * 60, 24 * 60, 48 * 60))
# The number the simulator and the tests text and call without Twilio (Twilio's magic test
# number): a line in local mode answers on it besides any number it is given.
SIMULATOR_NUMBER = "+15005550006"


@dataclass(frozen=True)
class Settings:
    database_url: str
    public_base_url: str
    twilio_auth_token: str
    twilio_account_sid: str | None = None
    twilio_phone_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    # more numbers the line answers on (a Messaging Service's senders, a voice number)
    other_numbers: tuple[str, ...] = ()
    org_name: str = "Missing Child Line"
    timezone: str = "America/New_York"
    secret_key: str = field(default="", repr=False)
    default_region: str = phones.DEFAULT_REGION
    log_level: str = "INFO"
    instance_dir: Path = INSTANCE_DIR
    twilio_api_base_url: str | None = None  # send REST calls here instead of Twilio's hosts
    dispatch_interval: timedelta = timedelta(seconds=5)
    send_lease: timedelta = timedelta(minutes=2)  # a claimed row is claimed again after this
    send_concurrency: int = 4  # sender threads in one dispatcher
    retry_after: timedelta = timedelta(seconds=15)  # first retry; doubles up to 30 minutes
    escalation_wait: timedelta = timedelta(minutes=5)
    stalled_after: timedelta = timedelta(minutes=10)  # an intake left half done wakes someone
    # an intake the caller stopped answering is marked "abandoned" after this (oncall.py)
    abandoned_after: timedelta = timedelta(minutes=30)
    escalation_rounds: int = 3
    # the staff's own plan (INTAKE_ESCALATION_PLAN); empty: the wait and rounds above
    escalation_plan: Plan = ()
    page_window: timedelta = timedelta(minutes=3)  # one call, and texts combined, per person
    fallback_alert_number: str | None = None
    alert_detail: str = "minimal"  # minimal | full (adds the child's name and description)
    followup_schedule: tuple[timedelta, ...] = DEFAULT_FOLLOWUPS
    case_reopen_window: timedelta = timedelta(hours=24)  # texts after a close go to its worker
    # a case found or closed this many days ago loses its personal data (intake/cases/retention.py)
    retention_days: int = 90
    metrics_token: str | None = field(default=None, repr=False)  # /metrics needs it
    office_hours: tuple[str, ...] = ()  # canonical windows (intake/infra/windows.py); see office.py
    office_number: str | None = None  # where calls go in office hours
    # the phone simulator (/simulator) with Twilio credentials set: only for signed-in admins
    simulator: bool = False
    # Fernet keys for the children's data at rest: the first encrypts, all decrypt
    data_keys: tuple[str, ...] = field(default=(), repr=False)
    # a webhook waits this long for the database, then answers from memory (deadline.py)
    answer_within: timedelta = timedelta(seconds=3)
    # where a text answered from memory is kept on disk until the database has it
    # (intake/infra/spool.py); None: instance_dir/spool
    spool_dir: Path | None = None

    def __repr__(self) -> str:  # never print the token or the secret key
        return f"Settings(database={_redact_url(self.database_url)}, twilio={self.uses_twilio})"

    @property
    def uses_twilio(self) -> bool:
        """True when real Twilio credentials are set; otherwise the local outbox is used."""
        return bool(self.twilio_account_sid)

    @property
    def line_numbers(self) -> frozenset[str]:
        """The numbers the line answers on: a webhook to any other is refused (in local
        mode the simulator's number too)."""
        numbers = {self.twilio_phone_number, *self.other_numbers}
        if not self.uses_twilio:
            numbers.add(SIMULATOR_NUMBER)
        return frozenset(number for number in numbers if number)

    @property
    def spool_folder(self) -> Path:
        """The host's spool folder (intake/infra/spool.py)."""
        return self.spool_dir or self.instance_dir / "spool"

    @property
    def plan(self) -> Plan:
        """The escalation plan the line walks (intake/domain/escalation_plan.py)."""
        return self.escalation_plan or default_plan(self.escalation_wait, self.escalation_rounds)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raise ConfigError naming each bad one."""
        env = os.environ if env is None else env
        reader = _Reader(env)
        instance = Path(reader.get("INTAKE_INSTANCE_DIR") or INSTANCE_DIR)
        settings = cls(
            database_url=reader.database_url(f"sqlite:///{instance / 'intake.db'}"),
            public_base_url=reader.url("PUBLIC_BASE_URL", local_base_url(reader.get("PORT"))),
            twilio_account_sid=reader.get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=reader.get("TWILIO_AUTH_TOKEN") or "",
            twilio_phone_number=reader.phone("TWILIO_PHONE_NUMBER"),
            twilio_messaging_service_sid=reader.get("TWILIO_MESSAGING_SERVICE_SID"),
            other_numbers=reader.phones("INTAKE_LINE_NUMBERS"),
            org_name=reader.org_name("INTAKE_ORG_NAME", cls.org_name),
            timezone=reader.timezone("INTAKE_TIMEZONE", cls.timezone),
            secret_key=reader.get("SECRET_KEY") or "",
            default_region=reader.region(),
            log_level=reader.choice("INTAKE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING"), "INFO"),
            instance_dir=instance,
            twilio_api_base_url=reader.optional_url("TWILIO_API_BASE_URL"),
            dispatch_interval=reader.duration("INTAKE_DISPATCH_INTERVAL", "5s"),
            send_lease=reader.duration("INTAKE_SEND_LEASE", "2m"),
            send_concurrency=reader.count("INTAKE_SEND_CONCURRENCY", 4),
            retry_after=reader.duration("INTAKE_RETRY_AFTER", "15s"),
            escalation_wait=reader.duration("INTAKE_ESCALATION_WAIT", "5m"),
            stalled_after=reader.duration("INTAKE_STALLED_AFTER", "10m"),
            abandoned_after=reader.minutes("INTAKE_ABANDONED_AFTER_MINUTES", 30),
            escalation_rounds=reader.count("INTAKE_ESCALATION_ROUNDS", 3),
            escalation_plan=reader.plan("INTAKE_ESCALATION_PLAN"),
            page_window=reader.duration("INTAKE_PAGE_WINDOW", "3m"),
            fallback_alert_number=reader.phone("INTAKE_FALLBACK_ALERT_NUMBER"),
            alert_detail=reader.choice(
                "INTAKE_ALERT_DETAIL", ("MINIMAL", "FULL"), "MINIMAL"
            ).lower(),
            followup_schedule=reader.schedule("INTAKE_FOLLOWUP_SCHEDULE", DEFAULT_FOLLOWUPS),
            case_reopen_window=reader.duration("INTAKE_CASE_REOPEN_WINDOW", "24h"),
            retention_days=reader.days("INTAKE_RETENTION_DAYS", 90),
            metrics_token=reader.get("INTAKE_METRICS_TOKEN"),
            office_hours=reader.windows("INTAKE_OFFICE_HOURS"),
            office_number=reader.phone("INTAKE_OFFICE_NUMBER"),
            simulator=reader.choice("INTAKE_SIMULATOR", ("ON", "OFF"), "OFF") == "ON",
            data_keys=reader.data_keys("INTAKE_DATA_KEYS"),
            answer_within=reader.answer_within("INTAKE_ANSWER_WITHIN", "3s"),
            spool_dir=Path(reader.get("INTAKE_SPOOL_DIR") or instance / "spool"),
        )
        _check_twilio(reader, settings)
        _later_than_stalled(reader, settings)
        reader.together("INTAKE_OFFICE_HOURS", "INTAKE_OFFICE_NUMBER")
        reader.raise_errors()
        return settings.with_local_secrets()

    def with_local_secrets(self) -> Settings:
        """Fill a missing auth token and secret key from files kept under instance/."""
        from dataclasses import replace

        try:
            token = self.twilio_auth_token or _local_secret(self.instance_dir, "twilio_auth_token")
            key = self.secret_key or _local_secret(self.instance_dir, "secret_key")
            data_keys = self.data_keys or (crypto.local_key(self.instance_dir),)
        except OSError as error:  # a read-only checkout (a server's): say what to set
            raise ConfigError(
                f"cannot keep generated secrets in {self.instance_dir} ({error.strerror}): "
                "set TWILIO_AUTH_TOKEN, SECRET_KEY and INTAKE_DATA_KEYS, or set "
                "INTAKE_INSTANCE_DIR to a folder this user may write"
            ) from None
        return replace(self, twilio_auth_token=token, secret_key=key, data_keys=data_keys)

    def data_key_ring(self) -> MultiFernet:
        """The data keys as one MultiFernet (a local key from instance/ when none is set)."""
        return crypto.key_ring(self.data_keys or (crypto.local_key(self.instance_dir),))


def local_base_url(port: str | int | None, host: str = "127.0.0.1") -> str:
    """Where the line answers on this machine when PUBLIC_BASE_URL is not set."""
    return f"http://{host}:{port or 5000}"


def _later_than_stalled(reader: _Reader, settings: Settings) -> None:
    """A half-done intake pages first (INTAKE_STALLED_AFTER), then is marked abandoned."""
    if settings.abandoned_after <= settings.stalled_after:
        reader.errors.append(
            "INTAKE_ABANDONED_AFTER_MINUTES must be longer than INTAKE_STALLED_AFTER "
            "(a half-done intake pages someone first, then is marked abandoned)"
        )


def _check_twilio(reader: _Reader, settings: Settings) -> None:
    if not settings.twilio_account_sid:
        return
    if not sids.is_sid(sids.ACCOUNT, settings.twilio_account_sid):
        reader.errors.append("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
    service = settings.twilio_messaging_service_sid
    if service and not sids.is_sid(sids.SERVICE, service):
        reader.errors.append("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hex digits")
    if not settings.twilio_auth_token:
        reader.errors.append("TWILIO_AUTH_TOKEN is required with TWILIO_ACCOUNT_SID")
    if not (settings.twilio_phone_number or settings.twilio_messaging_service_sid):
        reader.errors.append(
            "TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required "
            "with TWILIO_ACCOUNT_SID"
        )
    if service and not settings.line_numbers:
        reader.errors.append(
            "With TWILIO_MESSAGING_SERVICE_SID and no TWILIO_PHONE_NUMBER, list the "
            "service's numbers in INTAKE_LINE_NUMBERS: webhooks to any other are refused"
        )
    if not reader.get("PUBLIC_BASE_URL"):
        reader.errors.append("PUBLIC_BASE_URL is required with TWILIO_ACCOUNT_SID")
    if not reader.get("SECRET_KEY"):
        reader.errors.append("SECRET_KEY is required with TWILIO_ACCOUNT_SID")
    if not reader.get("INTAKE_DATA_KEYS"):
        reader.errors.append(
            "INTAKE_DATA_KEYS is required with TWILIO_ACCOUNT_SID (the key that encrypts "
            f"the children's data at rest); make one with {crypto.MAKE_A_KEY}"
        )


def warnings(settings: Settings) -> list[str]:
    """Settings that work but should be fixed before real callers rely on the line."""
    found = []
    parts = urlsplit(settings.public_base_url)
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        found.append(
            "PUBLIC_BASE_URL is not https: Twilio's webhooks and the links in alerts "
            "would travel unencrypted."
        )
    return found


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_secret(folder: Path, name: str) -> str:
    """A random secret generated once into instance/ for the embedded default."""
    return crypto.secret_once(folder / name, lambda: secrets.token_hex(32))


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
