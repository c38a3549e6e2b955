"""`intake check`: a production configuration is checked against the database and Twilio
(the fake, through the real client), and each problem is one plain sentence."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from intake import startup
from intake.cli.main import main
from intake.infra import crypto
from intake.oncall import roster
from tests.conftest import ACCOUNT, BASE_URL, LINE_NUMBER, TOKEN
from tests.test_oncall import not_today

SECRET = "check-secret-key-0123456789"
HOOKS = {
    "sms_url": f"{BASE_URL}/twilio/sms",
    "voice_url": f"{BASE_URL}/twilio/voice",
    "status_callback": f"{BASE_URL}/twilio/voice/status",
    "sms_fallback_url": "https://handler.twilio.com/twiml/EH1",
    "voice_fallback_url": "https://handler.twilio.com/twiml/EH2",
}


@pytest.fixture
def env(db_url, tmp_path, fake, line) -> dict[str, str | None]:
    """Everything right: a roster, the number on the account with its webhooks set."""
    with line.db.transaction() as session:
        roster.add(session, "Ana Ruiz", "+12125550111")
    fake.add_number(LINE_NUMBER, **HOOKS)
    inherited = {k: None for k in os.environ if k.startswith(("INTAKE_", "TWILIO_"))}
    return inherited | {
        "DATABASE_URL": db_url,
        "INTAKE_INSTANCE_DIR": str(tmp_path / "check"),
        "PUBLIC_BASE_URL": BASE_URL,
        "SECRET_KEY": SECRET,
        "INTAKE_DATA_KEYS": crypto.local_key(tmp_path / "instance"),  # the app's own key
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "TWILIO_API_BASE_URL": fake.base_url,
        "INTAKE_FALLBACK_ALERT_NUMBER": "+12125550199",
    }


def check(env: dict[str, str | None]):
    return CliRunner().invoke(main, ["check"], env=env)


def failures(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("FAIL")]


def test_a_good_configuration_passes_every_check(env):
    result = check(env)
    assert result.exit_code == 0, result.output
    assert failures(result) == []
    assert "warn" not in result.output
    for subject in ("database", "migrations", "Twilio", "TWILIO_PHONE_NUMBER", "on-call roster"):
        assert f"ok    {subject}: " in result.output
    assert result.output.strip().endswith("all checks passed")
    plan = "on_call, wait 5m; next, wait 5m, 3 rounds; everyone; fallback"  # today's default
    assert f"ok    escalation plan: {plan}\n" in result.output
    for secret in (TOKEN, SECRET, env["INTAKE_DATA_KEYS"]):
        assert secret not in result.output


def _suspended(env, fake):
    fake.account_status = "suspended"


def _number_elsewhere(env, fake):
    env["TWILIO_PHONE_NUMBER"] = "+12125550177"


def _voice_webhook_unset(env, fake):
    fake.reset()  # forget the number, then add it back without its voice URL
    fake.add_number(LINE_NUMBER, **(HOOKS | {"voice_url": ""}))


def _plain_http(env, fake):
    env["PUBLIC_BASE_URL"] = "http://line.example.org"
    fake.reset()  # the number's webhooks follow the (wrong) address
    fake.add_number(LINE_NUMBER, **{k: v.replace("https:", "http:") for k, v in HOOKS.items()})


LOCAL_MODE = "FAIL  Twilio: TWILIO_ACCOUNT_SID is not set: the line runs in local mode"
PROBLEMS = {
    "wrong auth token": (
        lambda env, fake: env.update(TWILIO_AUTH_TOKEN="not-the-token"),
        "FAIL  Twilio: Twilio refused TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN: copy both "
        "again from the Twilio console (Account info).",
    ),
    "Twilio unreachable": (
        lambda env, fake: env.update(TWILIO_API_BASE_URL="http://127.0.0.1:9"),
        "FAIL  Twilio: Twilio's API did not answer (ConnectionError): check the network.",
    ),
    "account suspended": (
        _suspended,
        "FAIL  Twilio: the account is suspended: sending and calls stop.",
    ),
    "number not on the account": (
        _number_elsewhere,
        "FAIL  TWILIO_PHONE_NUMBER: not a number of this Twilio account",
    ),
    "voice webhook not set": (
        _voice_webhook_unset,
        f'FAIL  number\'s "A call comes in": must be POST {BASE_URL}/twilio/voice: '
        "set it on the number.",
    ),
    "plain http": (
        _plain_http,
        "FAIL  PUBLIC_BASE_URL: PUBLIC_BASE_URL is not https",
    ),
    "local mode": (
        lambda env, fake: env.update(TWILIO_ACCOUNT_SID=None),
        LOCAL_MODE,
    ),
    "no secret key in local mode": (
        lambda env, fake: env.update(TWILIO_ACCOUNT_SID=None, SECRET_KEY=None),
        "FAIL  SECRET_KEY: not set: a key generated into the instance folder is used",
    ),
    "no data keys in local mode": (
        lambda env, fake: env.update(TWILIO_ACCOUNT_SID=None, INTAKE_DATA_KEYS=None),
        "FAIL  INTAKE_DATA_KEYS: not set: the children's data is encrypted with a key "
        "generated into the instance folder",
    ),
    "no secret key with Twilio": (
        lambda env, fake: env.update(SECRET_KEY=None),
        "FAIL  configuration: SECRET_KEY is required with TWILIO_ACCOUNT_SID",
    ),
    "a data key that is not a key": (
        lambda env, fake: env.update(INTAKE_DATA_KEYS="not-a-key"),
        "FAIL  configuration: INTAKE_DATA_KEYS must be comma-separated Fernet keys "
        "(not one: key 1)",
    ),
}


@pytest.mark.parametrize("problem", PROBLEMS)
def test_each_problem_is_one_plain_sentence_and_fails_the_check(env, fake, problem):
    change, sentence = PROBLEMS[problem]
    change(env, fake)
    result = check(env)
    assert result.exit_code == 1, result.output
    found = failures(result)
    others = [f for f in found if not f.startswith(sentence)]
    assert len(found) - len(others) == 1, result.output
    assert all(f.startswith(LOCAL_MODE) for f in others), others  # local mode says so too
    assert "Traceback" not in result.output and "not-the-token" not in result.output
    assert "the line is not ready for real callers" in result.output


def test_nobody_to_wake_fails_with_the_start_up_warning(env, line):
    with line.db.transaction() as session:
        roster.remove(session, "Ana Ruiz")
    env["INTAKE_FALLBACK_ALERT_NUMBER"] = None
    result = check(env)
    assert result.exit_code == 1
    assert failures(result) == [f"FAIL  on-call roster: {startup.nobody_to_alert()}"]


def test_nobody_on_call_now_is_a_warning_not_a_failure(env, line):
    with line.db.transaction() as session:
        roster.remove(session, "Ana Ruiz")  # the only one left is on call for no minute now
        roster.add(session, "Bo Chen", "+12125550112", windows=[f"{not_today(line)} 00:00-00:01"])
    result = check(env)
    assert result.exit_code == 0, result.output
    assert "ok    on-call roster: 1 reachable, 0 on call now" in result.output
    assert "warn  on-call roster: nobody's window covers now" in result.output


def test_keys_that_cannot_read_the_stored_data_fail(env, phone):
    phone.text("my son is missing")  # stored encrypted with the app's key
    env["INTAKE_DATA_KEYS"] = Fernet.generate_key().decode()
    [failure] = failures(check(env))
    assert failure.startswith("FAIL  INTAKE_DATA_KEYS: INTAKE_DATA_KEYS cannot decrypt the data")


def test_a_database_without_the_migrations_says_to_run_them(env, empty_db_url):
    env["DATABASE_URL"] = empty_db_url
    result = check(env)
    assert result.exit_code == 1
    assert failures(result) == [
        "FAIL  migrations: The database has no tables yet: run `intake db upgrade`."
    ]


def test_a_database_that_does_not_answer_is_named_without_its_password(env):
    env["DATABASE_URL"] = "postgresql+psycopg://intake:pw-secret@127.0.0.1:9/intake"
    result = check(env)
    assert result.exit_code == 1
    assert failures(result) == [
        "FAIL  database: Nothing answers at 127.0.0.1:9: is PostgreSQL running, "
        "and is DATABASE_URL right?"
    ]
    assert "pw-secret" not in result.output


def test_a_number_without_fallback_urls_is_a_warning_naming_the_command(env, fake):
    fake.reset()
    fake.add_number(LINE_NUMBER, **(HOOKS | {"sms_fallback_url": "", "voice_fallback_url": ""}))
    result = check(env)
    assert result.exit_code == 0, result.output
    assert "`intake fallback-twiml --sms`" in result.output
    assert "`intake fallback-twiml --voice`" in result.output


SERVICE = "MG" + "5" * 32


@pytest.mark.parametrize(
    "service, found",
    [
        (
            {"inbound_request_url": HOOKS["sms_url"], "fallback_url": HOOKS["sms_fallback_url"]},
            f"ok    TWILIO_MESSAGING_SERVICE_SID: texts come to {HOOKS['sms_url']}",
        ),
        (
            {"use_inbound_webhook_on_number": True},
            "ok    TWILIO_MESSAGING_SERVICE_SID: texts go to the number's own webhook",
        ),
        (
            {"inbound_request_url": "https://old.example.org/sms"},
            "FAIL  TWILIO_MESSAGING_SERVICE_SID: its Integration page must send a webhook to "
            f"POST {HOOKS['sms_url']}: set it there.",
        ),
        (
            None,
            "FAIL  TWILIO_MESSAGING_SERVICE_SID: not a Messaging Service of this Twilio account.",
        ),
    ],
)
def test_a_messaging_service_is_checked_where_it_takes_the_texts(env, fake, service, found):
    env["TWILIO_MESSAGING_SERVICE_SID"] = SERVICE
    if service is not None:
        fake.add_service(SERVICE, **service)
    result = check(env)
    assert found in result.output, result.output
    assert result.exit_code == (1 if found.startswith("FAIL") else 0)
