"""Settings come only from the environment and every bad value is named at start-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from intake.infra.config import ConfigError, Settings, parse_duration, warnings
from intake.oncall.office import office_open

DATA_KEY = Fernet.generate_key().decode()


def test_defaults_are_the_embedded_line(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'intake.db'}"
    assert settings.timezone == "America/New_York"
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert not settings.uses_twilio


def test_links_in_texts_follow_the_local_port_when_no_public_url_is_set(tmp_path):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "PORT": "5055"}
    assert Settings.from_env(env).public_base_url == "http://127.0.0.1:5055"
    env["PUBLIC_BASE_URL"] = "https://line.example.org"
    assert Settings.from_env(env).public_base_url == "https://line.example.org"


def test_without_twilio_a_token_and_key_are_generated_once_and_kept(tmp_path):
    first = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    second = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert len(first.twilio_auth_token) == 64
    assert first.twilio_auth_token == second.twilio_auth_token
    assert first.secret_key == second.secret_key != first.twilio_auth_token
    assert (tmp_path / "twilio_auth_token").stat().st_mode & 0o077 == 0


def test_every_bad_value_is_reported_at_once(tmp_path):
    env = {
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": "line.example.org",
        "INTAKE_TIMEZONE": "Mars/Olympus",
        "TWILIO_PHONE_NUMBER": "call me",
        "INTAKE_LOG_LEVEL": "LOUD",
    }
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    message = str(error.value)
    for name in ("PUBLIC_BASE_URL", "INTAKE_TIMEZONE", "TWILIO_PHONE_NUMBER", "INTAKE_LOG_LEVEL"):
        assert name in message


def test_real_twilio_needs_its_whole_set(tmp_path):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "TWILIO_ACCOUNT_SID": "AC" + "1" * 32}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    message = str(error.value)
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "PUBLIC_BASE_URL", "SECRET_KEY"):
        assert name in message
    assert "INTAKE_DATA_KEYS is required" in message and "Fernet.generate_key()" in message


def test_a_complete_twilio_setup_is_accepted_and_never_printed(tmp_path):
    env = {
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "super-secret-token",
        "TWILIO_PHONE_NUMBER": "(212) 555-1234",
        "PUBLIC_BASE_URL": "https://line.example.org/",
        "SECRET_KEY": "another-secret",
        "DATABASE_URL": "postgresql+psycopg://intake:pw-secret@db/intake",
        "INTAKE_DATA_KEYS": DATA_KEY,
    }
    settings = Settings.from_env(env)
    assert settings.uses_twilio
    assert settings.twilio_phone_number == "+12125551234"
    assert settings.public_base_url == "https://line.example.org"
    assert settings.data_keys == (DATA_KEY,)
    shown = repr(settings)
    assert "super-secret-token" not in shown and "pw-secret" not in shown
    assert "another-secret" not in shown and DATA_KEY not in shown


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        (" 15m ", timedelta(minutes=15)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "-5m", "5 minutes", "1.5h", "5w"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def twilio_env(tmp_path, **overrides) -> dict[str, str]:
    env = {
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_PHONE_NUMBER": "+12125551234",
        "PUBLIC_BASE_URL": "https://line.example.org",
        "SECRET_KEY": "key",
        "INTAKE_DATA_KEYS": DATA_KEY,
    }
    return {**env, **overrides}


@pytest.mark.parametrize(
    "name, value, complaint",
    [
        ("TWILIO_ACCOUNT_SID", "AC123", "AC followed by 32 hex digits"),
        ("TWILIO_ACCOUNT_SID", "AC" + "g" * 32, "AC followed by 32 hex digits"),
        ("TWILIO_MESSAGING_SERVICE_SID", "AC" + "1" * 32, "MG followed by 32 hex digits"),
        ("TWILIO_PHONE_NUMBER", "555-1234", "valid phone number"),
        ("TWILIO_PHONE_NUMBER", "+1 555 555 0123", "valid phone number"),
        ("INTAKE_FALLBACK_ALERT_NUMBER", "555-1234", "valid phone number"),
    ],
)
def test_twilio_values_are_checked_for_shape(tmp_path, name, value, complaint):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(twilio_env(tmp_path, **{name: value}))
    assert f"{name} must be" in str(error.value) and complaint in str(error.value)
    assert value not in str(error.value)


def test_a_messaging_service_sid_of_the_right_shape_is_accepted(tmp_path):
    sid = "MG" + "0123456789ABCDEF" * 2
    env = twilio_env(
        tmp_path,
        TWILIO_PHONE_NUMBER="",
        TWILIO_MESSAGING_SERVICE_SID=sid,
        INTAKE_LINE_NUMBERS="+12125550100, +12125550101",
    )
    settings = Settings.from_env(env)
    assert settings.twilio_messaging_service_sid == sid
    assert settings.line_numbers == {"+12125550100", "+12125550101"}


def test_a_messaging_service_without_the_line_numbers_is_refused(tmp_path):
    """Webhooks to a number not the line's are refused: the line must know its numbers."""
    sid = "MG" + "0123456789abcdef" * 2
    env = twilio_env(tmp_path, TWILIO_PHONE_NUMBER="", TWILIO_MESSAGING_SERVICE_SID=sid)
    with pytest.raises(ConfigError, match="INTAKE_LINE_NUMBERS"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("postgres://intake:pw-secret@db/intake", "write postgresql+psycopg:// instead"),
        ("mysql://intake:pw-secret@db/intake", "must start with sqlite:/// or postgresql+psycopg"),
        ("nonsense-pw-secret", "must start with sqlite:/// or postgresql+psycopg"),
        ("postgresql+psycopg2://intake:pw-secret@db/i", "not postgresql+psycopg2://"),
    ],
)
def test_a_database_url_of_the_wrong_shape_is_named_without_its_password(tmp_path, url, complaint):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": url})
    assert str(error.value).startswith("DATABASE_URL") and complaint in str(error.value)
    assert "pw-secret" not in str(error.value)


@pytest.mark.parametrize(
    "base_url, warned",
    [
        ("http://line.example.org", True),
        ("https://line.example.org", False),
        ("http://127.0.0.1:5000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:5000", False),
    ],
)
def test_plain_http_is_a_warning_not_an_error(tmp_path, base_url, warned):
    settings = Settings.from_env(twilio_env(tmp_path, PUBLIC_BASE_URL=base_url))
    assert bool(warnings(settings)) is warned
    assert all("https" in w for w in warnings(settings))


# --- office hours ------------------------------------------------------------------------

OFFICE = {"INTAKE_OFFICE_HOURS": "mon-fri 09:00-17:00", "INTAKE_OFFICE_NUMBER": "+12125550199"}


def office(tmp_path, **env) -> Settings:
    return Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path), **OFFICE, **env})


def test_office_hours_are_off_unless_set(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert (settings.office_hours, settings.office_number) == ((), None)
    assert not office_open(settings, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # Monday 10am


def test_office_hours_are_kept_in_canonical_form(tmp_path):
    settings = office(
        tmp_path,
        INTAKE_OFFICE_HOURS="weekdays 9am-5pm; Saturday 10-14;",
        INTAKE_OFFICE_NUMBER="(212) 555-0199",
    )
    assert settings.office_hours == ("mon-fri 09:00-17:00", "sat 10:00-14:00")
    assert settings.office_number == "+12125550199"


@pytest.mark.parametrize("missing", ["INTAKE_OFFICE_HOURS", "INTAKE_OFFICE_NUMBER"])
def test_office_hours_and_number_go_together(tmp_path, missing):
    with pytest.raises(ConfigError) as error:
        office(tmp_path, **{missing: ""})
    message = str(error.value)
    assert "INTAKE_OFFICE_HOURS and INTAKE_OFFICE_NUMBER must be set together" in message


@pytest.mark.parametrize(
    "name, value, complaint",
    [
        ("INTAKE_OFFICE_HOURS", "9-5", "ambiguous"),
        ("INTAKE_OFFICE_HOURS", "mon-fri 09:00-17:00; funday", "not a day"),
        ("INTAKE_OFFICE_HOURS", " ; ", "must list windows"),
        ("INTAKE_OFFICE_NUMBER", "555-1234", "must be a valid phone number"),
    ],
)
def test_bad_office_settings_are_named(tmp_path, name, value, complaint):
    with pytest.raises(ConfigError) as error:
        office(tmp_path, **{name: value})
    message = str(error.value)
    assert message.startswith(name) and complaint in message
    assert "set together" not in message  # both were given; one was wrong


def local(text: str, zone: str = "America/New_York") -> datetime:
    """A wall-clock time in a zone, handed over in UTC as the line's clock would."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    "moment, is_open",
    [
        ("2026-03-02 08:59", False),  # Monday
        ("2026-03-02 09:00", True),
        ("2026-03-02 16:59", True),
        ("2026-03-02 17:00", False),
        ("2026-03-06 16:59", True),  # Friday
        ("2026-03-07 12:00", False),  # Saturday
    ],
)
def test_the_office_is_open_inside_its_window_and_not_at_its_end(tmp_path, moment, is_open):
    assert office_open(office(tmp_path), local(moment)) is is_open


@pytest.mark.parametrize(
    "utc, is_open",
    [
        ("2026-03-06 13:00", False),  # Friday 08:00 EST
        ("2026-03-09 13:00", True),  # Monday 09:00 EDT: the clocks sprang forward
        ("2026-10-30 13:00", True),  # Friday 09:00 EDT
        ("2026-11-02 13:00", False),  # Monday 08:00 EST: the clocks fell back
        ("2026-11-02 14:00", True),
    ],
)
def test_office_hours_follow_the_local_clock_across_dst(tmp_path, utc, is_open):
    moment = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert office_open(office(tmp_path), moment) is is_open


def test_office_hours_are_read_in_the_lines_time_zone(tmp_path):
    moment = local("2026-03-02 09:30")  # 06:30 in Los Angeles
    assert office_open(office(tmp_path), moment)
    west = office(tmp_path, INTAKE_TIMEZONE="America/Los_Angeles")
    assert not office_open(west, moment)
    assert office_open(west, local("2026-03-02 09:30", "America/Los_Angeles"))


@pytest.mark.parametrize(
    "moment, is_open",
    [
        ("2026-03-06 21:59", False),
        ("2026-03-06 22:00", True),  # Friday night
        ("2026-03-07 01:59", True),  # still Friday's window
        ("2026-03-07 02:00", False),
        ("2026-03-07 10:00", True),  # Saturday's own window
        ("2026-03-08 01:00", False),  # Saturday night has no window
    ],
)
def test_several_windows_and_one_past_midnight(tmp_path, moment, is_open):
    settings = office(tmp_path, INTAKE_OFFICE_HOURS="fri 22:00-02:00; sat 10:00-14:00")
    assert office_open(settings, local(moment)) is is_open


def test_office_hours_without_a_number_are_never_open(tmp_path):
    settings = replace(office(tmp_path), office_number=None)
    assert not office_open(settings, local("2026-03-02 10:00"))


def test_a_moment_without_a_time_zone_is_refused(tmp_path):
    with pytest.raises(ValueError):
        office_open(office(tmp_path), datetime(2026, 3, 2, 10, 0))


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("x" * 51, "at most 50 characters"), ("Fundación Niños", "plain letters")],
)
def test_an_org_name_that_would_break_the_text_budget_is_refused(tmp_path, value, complaint):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ORG_NAME": value}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert "INTAKE_ORG_NAME" in str(error.value) and complaint in str(error.value)


def test_an_org_name_of_50_plain_characters_is_accepted(tmp_path):
    name = "Bright Path Family and Children Services of Dallas"
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ORG_NAME": name}
    assert Settings.from_env(env).org_name == name


def test_every_phone_setting_is_read_in_the_lines_region(tmp_path):
    env = {
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "INTAKE_DEFAULT_REGION": "GB",
        "INTAKE_FALLBACK_ALERT_NUMBER": "020 7946 0018",
        "INTAKE_LINE_NUMBERS": "020 7946 0019, +12125550100",
    }
    settings = Settings.from_env(env)
    assert settings.fallback_alert_number == "+442079460018"
    assert settings.other_numbers == ("+442079460019", "+12125550100")


def test_the_region_is_a_country_code(tmp_path):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_DEFAULT_REGION": "gb"}
    assert Settings.from_env(env).default_region == "GB"
    env["INTAKE_DEFAULT_REGION"] = "England"
    with pytest.raises(ConfigError, match="INTAKE_DEFAULT_REGION must be a two-letter"):
        Settings.from_env(env)
