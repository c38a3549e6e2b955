"""Reading settings from environment variables: each kind of value checked in one place,
and every problem collected, so one start-up shows them all (intake/infra/config.py uses it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from intake.domain.escalation_plan import Plan, parse_plan
from intake.infra import crypto, phones
from intake.infra.windows import parse_windows

DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_FOLLOWUPS = 6  # one template each: templates/sms/<lang>/followup_<n>.txt
MAX_DAYS = 36500  # a retention longer than a century is a typo
MAX_MINUTES = 24 * 60  # an intake idle for a day is long abandoned
DATABASES = ("sqlite", "postgresql")
MAX_ANSWER_WITHIN = 3  # seconds: with the commit grace (deadline.py), still inside 5 s
# The longest INTAKE_ORG_NAME: every text's budget is measured with a name this long.
MAX_ORG_NAME = 50


class ConfigError(ValueError):
    """One or more settings are wrong; the message lists each, one a line."""


def parse_duration(text: str) -> timedelta:
    """'30s', '5m', '1h', '2d' as a timedelta."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 2d")
    amount, unit = match.groups()
    return timedelta(**{UNITS[unit]: int(amount)})


class Reader:
    """Reads variables and collects every problem, so one start-up shows them all."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.errors: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def region(self) -> str:
        """INTAKE_DEFAULT_REGION: the country a number without a country code is read in."""
        value = (self.get("INTAKE_DEFAULT_REGION") or phones.DEFAULT_REGION).upper()
        if phones.is_region(value):
            return value
        problem = "INTAKE_DEFAULT_REGION must be a two-letter country code like US or GB"
        if problem not in self.errors:
            self.errors.append(problem)
        return phones.DEFAULT_REGION

    def database_url(self, default: str) -> str:
        """DATABASE_URL, checked for shape only (whether it answers is seen at first use)."""
        value = self.get("DATABASE_URL") or default
        problem = database_url_problem(value)
        if problem:
            self.errors.append(f"DATABASE_URL {problem}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.get(name) or default
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.errors.append(f"{name} must be an http(s) URL like https://line.example.org")
        return value.rstrip("/")

    def optional_url(self, name: str) -> str | None:
        return self.url(name, "") if self.get(name) else None

    def duration(self, name: str, default: str) -> timedelta:
        try:
            value = parse_duration(self.get(name) or default)
        except ValueError as error:
            self.errors.append(f"{name}: {error}")
            return parse_duration(default)
        if value <= timedelta(0):
            self.errors.append(f"{name} must be longer than zero")
        return value

    def answer_within(self, name: str, default: str) -> timedelta:
        """The webhook's wait for the database: the answer must reach Twilio within 5 s."""
        value = self.duration(name, default)
        if value > timedelta(0) and not timedelta(seconds=1) <= value <= timedelta(
            seconds=MAX_ANSWER_WITHIN
        ):
            self.errors.append(
                f"{name} must be from 1s to {MAX_ANSWER_WITHIN}s (the emergency words "
                "must reach the caller within 5 s)"
            )
            return parse_duration(default)
        return value

    def org_name(self, name: str, default: str) -> str:
        """The name every text begins with: short and plain enough to keep the texts'
        segment budget (docs/sms-encoding.md)."""
        value = self.get(name) or default
        if len(value) > MAX_ORG_NAME:
            self.errors.append(f"{name} must be at most {MAX_ORG_NAME} characters")
        try:
            value.encode("gsm03.38")
        except UnicodeEncodeError:
            self.errors.append(f"{name} must use plain letters (no á, í, ó, ú or curly quotes)")
        return value

    def count(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= 20:
            self.errors.append(f"{name} must be a whole number from 1 to 20")
            return default
        return int(raw)

    def minutes(self, name: str, default: int) -> timedelta:
        """A whole number of minutes, from 1 to a day."""
        raw = self.get(name)
        if raw is None:
            return timedelta(minutes=default)
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_MINUTES:
            self.errors.append(f"{name} must be a whole number of minutes from 1 to {MAX_MINUTES}")
            return timedelta(minutes=default)
        return timedelta(minutes=int(raw))

    def plan(self, name: str) -> Plan:
        """An escalation plan, e.g. 'on_call, wait 5m; next, wait 5m, 3 rounds; fallback'."""
        raw = self.get(name)
        if raw is None:
            return ()
        try:
            return parse_plan(raw)
        except ValueError as error:
            self.errors.append(f"{name}: {error}")
            return ()

    def days(self, name: str, default: int) -> int:
        """A number of days, at least 1 (up to about 100 years)."""
        raw = self.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            self.errors.append(f"{name} must be a whole number of days from 1 to {MAX_DAYS}")
            return default
        return int(raw)

    def schedule(self, name: str, default: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        """A comma-separated list of durations, like 15m,1h,3h,8h,24h,48h (or 'off')."""
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() == "off":
            return ()
        try:
            offsets = tuple(parse_duration(part) for part in raw.split(","))
        except ValueError as error:
            self.errors.append(f"{name}: {error}")
            return default
        if len(offsets) > MAX_FOLLOWUPS or list(offsets) != sorted(offsets):
            self.errors.append(
                f"{name} must list at most {MAX_FOLLOWUPS} durations in rising order"
            )
            return default
        return offsets

    def windows(self, name: str) -> tuple[str, ...]:
        """Windows like "mon-fri 09:00-17:00" separated by ";", in canonical form."""
        raw = self.get(name)
        if raw is None:
            return ()
        texts = [part for part in raw.split(";") if part.strip()]
        try:
            windows = parse_windows(texts)
        except ValueError as error:
            self.errors.append(f"{name}: {error}")
            return ()
        if not windows:
            self.errors.append(f'{name} must list windows like "mon-fri 09:00-17:00"')
        return tuple(str(window) for window in windows)

    def data_keys(self, name: str) -> tuple[str, ...]:
        """Comma-separated Fernet keys; an error names the bad one's place, never its text."""
        raw = self.get(name)
        if raw is None:
            return ()
        keys = tuple(part.strip() for part in raw.split(",") if part.strip())
        bad = [str(n) for n, key in enumerate(keys, 1) if not crypto.is_key(key)]
        if bad:
            self.errors.append(
                f"{name} must be comma-separated Fernet keys (not one: key {', '.join(bad)}); "
                f"make one with {crypto.MAKE_A_KEY}"
            )
            return ()
        return keys

    def together(self, *names: str) -> None:
        """Settings that mean nothing alone: all of them or none."""
        given = [name for name in names if self.get(name)]
        if given and len(given) < len(names):
            self.errors.append(f"{' and '.join(names)} must be set together")

    def phone(self, name: str) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        phone = phones.dialable(value, self.region())
        if phone is None:
            self.errors.append(
                f"{name} must be a valid phone number in E.164 form, like +12125551234"
            )
        return phone

    def phones(self, name: str) -> tuple[str, ...]:
        """Comma-separated phone numbers in E.164 form."""
        raw = self.get(name) or ""
        numbers = tuple(phones.dialable(part, self.region()) for part in raw.split(","))
        if raw and not all(numbers):
            self.errors.append(f"{name} must list phone numbers like +12125551234, +12125555678")
            return ()
        return tuple(n for n in numbers if n)

    def timezone(self, name: str, default: str) -> str:
        value = self.get(name) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.errors.append(f"{name} must be a time zone name like America/New_York")
            return default
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = (self.get(name) or default).upper()
        if value not in allowed:
            self.errors.append(f"{name} must be one of {', '.join(allowed)}")
            return default
        return value

    def raise_errors(self) -> None:
        if self.errors:
            raise ConfigError("\n".join(self.errors))


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL's shape, or None; never repeats the URL."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "postgres" or scheme.startswith("postgres+"):
        return "starts with postgres://: write postgresql+psycopg:// instead"
    try:
        parsed = make_url(url)
        parsed.get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ImportError):
        parsed = None
    if parsed is None or parsed.get_backend_name() not in DATABASES:
        shown = f", not {scheme}://" if scheme and "@" not in scheme else ""
        return f"must start with sqlite:/// or postgresql+psycopg://{shown}"
    return None
