"""Settings come only from the environment and every bad value is named at start-up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.config import ConfigError, Settings, parse_duration


def test_defaults_are_the_embedded_line(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'intake.db'}"
    assert settings.timezone == "America/New_York"
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert not settings.uses_twilio


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


def test_a_complete_twilio_setup_is_accepted_and_never_printed(tmp_path):
    env = {
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "super-secret-token",
        "TWILIO_PHONE_NUMBER": "(212) 555-1234",
        "PUBLIC_BASE_URL": "https://line.example.org/",
        "SECRET_KEY": "another-secret",
        "DATABASE_URL": "postgresql+psycopg://intake:pw-secret@db/intake",
    }
    settings = Settings.from_env(env)
    assert settings.uses_twilio
    assert settings.twilio_phone_number == "+12125551234"
    assert settings.public_base_url == "https://line.example.org"
    shown = repr(settings)
    assert "super-secret-token" not in shown and "pw-secret" not in shown
    assert "another-secret" not in shown


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
