"""Retention: a case found or closed over INTAKE_RETENTION_DAYS ago loses its personal data,
here and at the (fake) Twilio, and keeps its counts and times.

Cases are made through signed webhooks, aged by moving their found/closed times back, and
purged through the real service, the `intake purge` command and the worker's job.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from intake import scheduler
from intake.cases import retention, retention_columns
from intake.cases.lifecycle import close
from intake.cli.main import main
from intake.core.models import (
    Caller,
    Case,
    CaseMedia,
    Message,
    Outbound,
    TwilioDeletion,
)
from intake.infra import logs
from intake.infra.config import ConfigError, Settings
from intake.infra.transport import LocalTransport
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import ACCOUNT, BASE_URL, LINE_NUMBER, TOKEN, Phone, signed_post
from tests.conftest import twilio_settings as line_settings
from tests.test_metrics import figures
from tests.test_sms_webhook import ANSWERS

NAME = "Mia Lopez"  # one of ANSWERS: what must never outlive retention
METRICS = "metrics-token-for-tests"  # the token tests.test_metrics.figures sends
ANA = "+12125550111"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return line_settings(db_url, tmp_path, fake, metrics_token=METRICS)


@pytest.fixture
def log_text():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.KeyValueFormatter())
    logger = logging.getLogger("intake")
    logger.addHandler(handler)
    yield stream.getvalue
    logger.removeHandler(handler)


def report_missing(phone: Phone, fake, voicemail: bool = False) -> None:
    """A whole intake by text with a photo kept at Twilio (and a voicemail, if asked)."""
    phone.text("my daughter is missing")
    for answer in ANSWERS:
        phone.text(answer)
    phone.text("", media=[fake.add_media()])
    phone.reply("SAME")
    fake.add_received(*(params["MessageSid"] for params in phone.sent))  # Twilio keeps them
    if voicemail:
        params = simulator.call_params(
            phone.number, "CA" + "4" * 32, To=LINE_NUMBER, AccountSid=ACCOUNT
        )
        params |= {"RecordingUrl": fake.add_recording(), "RecordingDuration": "12"}
        assert signed_post(phone.app, "/twilio/voice/voicemail", params).status_code == 200


def age(line, ref: str, days: int, field: str = "found_at") -> None:
    """Move a case's found (or closed, completed, created) time `days` back."""
    with line.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        setattr(case, field, line.clock.now() - timedelta(days=days))


def cases(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def found_case(phone: Phone, fake, line, days: int, voicemail: bool = False) -> Case:
    report_missing(phone, fake, voicemail)
    phone.text("FOUND")
    fake.add_received(phone.sent[-1]["MessageSid"])
    case = cases(line)[-1]
    age(line, case.ref, days)
    return case


def everything_said(line, case_id: int) -> str:
    """Every stored value of a case, its messages and outbox rows, as one text."""
    with line.db.sessions() as s:
        case = s.get(Case, case_id)
        parts = [getattr(case, name) for name in retention_columns.CASE_ANSWERS]  # children too
        parts += [m.body for m in s.scalars(select(Message).where(Message.case_id == case_id))]
        parts += [m.url for m in s.scalars(select(CaseMedia).where(CaseMedia.case_id == case_id))]
        for row in s.scalars(select(Outbound).where(Outbound.case_id == case_id)):
            parts += [row.body, str(row.params), row.to_phone]
        parts += [str(case.caller.state), case.caller.phone]
    return " ".join(str(p) for p in parts if p)


def counts(line, case_id: int) -> tuple[int, int, int]:
    with line.db.sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model).where(model.case_id == case_id))
            for model in (Message, CaseMedia, Outbound)
        )


# --- what goes and what stays -----------------------------------------------------------


def test_a_case_found_91_days_ago_loses_its_personal_data_here_and_at_twilio(
    line, phone, fake, transport, log_text
):
    case = found_case(phone, fake, line, days=91, voicemail=True)
    assert NAME in everything_said(line, case.id) and len(fake.stored_media) == 1
    texts = [params["MessageSid"] for params in phone.sent]
    assert set(texts) <= set(fake.stored_messages)  # "Mia Lopez" is kept at Twilio too
    before = counts(line, case.id)

    report = retention.purge(line, transport, line.clock.now())

    assert report.refs == [case.ref] and report.callers == 1
    assert (report.deleted, report.left) == (2 + len(texts), 0)
    assert fake.stored_media == [] and fake.stored_recordings == []
    assert not set(texts) & set(fake.stored_messages)
    said = everything_said(line, case.id)
    assert NAME not in said and "Elm Park" not in said and "24-1187" not in said
    assert phone.number not in said and "api.twilio.com" not in said
    with line.db.sessions() as s:
        kept = s.get(Case, case.id)
        caller = kept.caller
        assert caller.phone == f"purged:{caller.id}" and caller.state == {}
        kept_meta = s.scalars(select(Message.meta).where(Message.case_id == case.id)).all()
        assert kept_meta and set(kept_meta) == {None}
        assert s.scalar(select(func.count()).select_from(TwilioDeletion)) == 0
    assert (kept.status, kept.age_months, kept.ref) == ("found", 84, case.ref)
    assert kept.found_at is not None and kept.completed_at is not None and kept.purged_at
    assert counts(line, case.id) == before  # the rows stay, emptied: counts and times
    assert NAME not in log_text() and phone.number not in log_text()
    assert f"case={case.ref}" in log_text()


def test_a_case_found_89_days_ago_is_kept(line, phone, fake, transport):
    case = found_case(phone, fake, line, days=89)
    assert retention.purge(line, transport, line.clock.now()).refs == []
    assert NAME in everything_said(line, case.id) and len(fake.stored_media) == 1
    assert cases(line)[0].purged_at is None


def test_the_later_of_found_and_closed_counts(line, phone, fake, transport):
    case = found_case(phone, fake, line, days=10)
    age(line, case.ref, 200, field="closed_at")  # closed long ago, found lately
    assert retention.purge(line, transport, line.clock.now()).refs == []


@pytest.mark.parametrize("status_field", ["completed_at", "created_at"])
def test_an_open_case_is_never_purged_whatever_its_age(line, phone, fake, transport, status_field):
    report_missing(phone, fake)  # open: nobody said FOUND and staff did not close it
    ref = cases(line)[0].ref
    age(line, ref, 3000, field=status_field)
    assert retention.purge(line, transport, line.clock.now()).refs == []
    assert NAME in everything_said(line, cases(line)[0].id)


def test_a_closed_case_is_purged_like_a_found_one(line, phone, fake, transport):
    report_missing(phone, fake)
    with line.db.transaction() as s:
        close(s, s.get(Case, cases(line)[0].id), line.clock.now())
    age(line, cases(line)[0].ref, 120, field="closed_at")
    assert retention.purge(line, transport, line.clock.now()).refs == [cases(line)[0].ref]


def test_a_caller_with_a_newer_open_case_keeps_their_number_and_their_case(
    line, phone, fake, transport
):
    old = found_case(phone, fake, line, days=100)
    phone.text("my son is missing again")  # a new report: a second case, open
    phone.text("yes")
    phone.text("Leo")
    new = cases(line)[-1]
    assert new.id != old.id and new.child_name == "Leo"

    report = retention.purge(line, transport, line.clock.now())

    assert report.refs == [old.ref] and report.callers == 0
    assert NAME not in everything_said(line, old.id)
    with line.db.sessions() as s:
        assert s.get(Case, new.id).child_name == "Leo"
        assert s.get(Caller, new.caller_id).phone == phone.number
    phone.text("seven")  # the open intake carries on where it was
    assert cases(line)[-1].age_months == 84


def test_the_callers_number_goes_with_their_last_kept_case(line, phone, fake, transport):
    first = found_case(phone, fake, line, days=200)
    phone.text("my son is missing again")
    phone.text("FOUND")
    second = cases(line)[-1]
    age(line, second.ref, 30)
    assert (
        retention.purge(line, transport, line.clock.now()).callers == 0
    )  # the second is still kept
    age(line, second.ref, 95)
    report = retention.purge(line, transport, line.clock.now())
    assert report.refs == [second.ref] and report.callers == 1
    with line.db.sessions() as s:
        assert s.get(Caller, first.caller_id).phone.startswith("purged:")
    # the same phone texting later is a new caller, with a new case
    assert "police" in phone.text("my daughter is missing")[0].lower()
    assert cases(line)[-1].caller_id != first.caller_id


def test_an_abandoned_intake_goes_once_old_and_nothing_of_the_caller_is_open(
    line, phone, fake, transport
):
    phone.text("my daughter is missing")
    phone.text("yes")
    phone.text(NAME)
    phone.text("RESTART")  # kept for staff as abandoned; a new intake starts
    abandoned, current = cases(line)
    age(line, abandoned.ref, 100, field="created_at")
    assert (
        retention.purge(line, transport, line.clock.now()).refs == []
    )  # the new intake is still open
    phone.text("FOUND")
    assert retention.purge(line, transport, line.clock.now()).refs == [abandoned.ref]
    assert NAME not in everything_said(line, abandoned.id)


def test_a_case_that_cannot_be_purged_is_logged_and_the_others_still_go(
    line, phone, fake, transport, log_text
):
    broken = found_case(phone, fake, line, days=120)
    other = found_case(Phone(phone.app, phone.settings, number="+12125559876"), fake, line, 95)
    stray = Fernet(Fernet.generate_key()).encrypt(b"x").decode()  # under a key long gone
    with line.db.transaction() as s:
        s.execute(
            text("UPDATE case_media SET url = :url WHERE case_id = :id"),
            {"url": stray, "id": broken.id},
        )
    report = retention.purge(line, transport, line.clock.now())
    assert report.refs == [other.ref] and report.failed == 1
    assert f"retention.case_failed case_id={broken.id} error=DataKeyError" in log_text()
    assert NAME not in everything_said(line, other.id)


# --- at Twilio ----------------------------------------------------------------------------


def test_twilio_failing_mid_purge_leaves_the_files_for_the_next_run(line, phone, fake, transport):
    case = found_case(phone, fake, line, days=91, voicemail=True)
    fake.fail_next_deletes(1, status=503)

    first = retention.purge(line, transport, line.clock.now())

    texts = len(phone.sent)  # each kept at Twilio, and deleted there too
    assert first.refs == [case.ref] and (first.deleted, first.left) == (0, 2 + texts)
    assert NAME not in everything_said(line, case.id)  # the database did not wait
    assert len(fake.stored_media) == 1 and len(fake.stored_recordings) == 1
    with line.db.sessions() as s:
        waiting = s.scalars(select(TwilioDeletion).order_by(TwilioDeletion.id)).all()
    assert [w.attempts for w in waiting] == [1] + [0] * (1 + texts)
    assert "503" in waiting[0].last_error

    second = retention.purge(line, transport, line.clock.now())

    assert second.refs == [] and (second.deleted, second.left) == (2 + texts, 0)
    assert fake.stored_media == [] and fake.stored_recordings == []
    assert fake.stored_messages == []
    assert len([d for d in fake.deletes if d["status"] == 204]) == 2 + texts


def test_a_file_twilio_no_longer_has_counts_as_deleted(line, phone, fake, transport):
    case = found_case(phone, fake, line, days=91)
    fake.reset()  # Twilio lost it, or another worker deleted it first
    report = retention.purge(line, transport, line.clock.now())
    texts = len(phone.sent)
    assert report.refs == [case.ref] and (report.deleted, report.left) == (1 + texts, 0)
    assert {d["status"] for d in fake.deletes} == {404}


def test_a_refused_delete_is_kept_and_the_others_still_go(line, phone, fake, transport):
    found_case(phone, fake, line, days=91, voicemail=True)
    fake.fail_next_deletes(1, status=403, code=20003)
    report = retention.purge(line, transport, line.clock.now())
    assert (report.deleted, report.left) == (1 + len(phone.sent), 1)
    assert len(fake.stored_media) == 1 and fake.stored_recordings == []


def test_without_twilio_there_is_nothing_to_delete_there(line, phone, fake):
    found_case(phone, fake, line, days=91)
    report = retention.purge(line, LocalTransport(), line.clock.now())
    assert (report.deleted, report.left) == (1 + len(phone.sent), 0)
    assert fake.deletes == []


# --- what staff see -------------------------------------------------------------------------


def test_a_purged_case_still_counts_in_metrics(app, line, phone, fake, transport):
    found_case(phone, fake, line, days=91)
    retention.purge(line, transport, line.clock.now())
    assert figures(app.test_client())[("intake_cases", (("status", "found"),))] == 1


def test_staff_asking_for_a_purged_case_are_told_it_was_purged(
    app, line, phone, settings, fake, transport
):
    with line.db.transaction() as s:
        roster.add(s, "Ana", ANA)
    case = found_case(phone, fake, line, days=91)
    retention.purge(line, transport, line.clock.now())
    reply = Phone(app, settings, number=ANA).reply(f"TAKE {case.ref}")
    assert case.ref in reply and "found" in reply and "deleted" in reply
    assert phone.number not in reply


# --- the command and the clock ----------------------------------------------------------


def _cli_env(line) -> dict[str, str]:
    s = line.settings
    return {
        "DATABASE_URL": s.database_url,
        "INTAKE_INSTANCE_DIR": str(s.instance_dir),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "TWILIO_API_BASE_URL": s.twilio_api_base_url or "",
        "PUBLIC_BASE_URL": BASE_URL,
        "SECRET_KEY": "test-secret-key",
        "INTAKE_DATA_KEYS": (s.instance_dir / "data_key").read_text().strip(),
    }


def test_purge_dry_run_shows_what_would_go_and_changes_nothing(line, phone, fake):
    case = found_case(phone, fake, line, days=91)
    found_case(Phone(phone.app, phone.settings, number="+12125559876"), fake, line, days=5)

    dry = CliRunner().invoke(main, ["purge", "--dry-run"], env=_cli_env(line))

    assert dry.exit_code == 0, dry.output
    assert f"would purge 1 case: {case.ref}" in dry.output
    texts = len(phone.sent)  # the first caller's texts: each kept at Twilio
    assert "would forget 1 caller" in dry.output
    assert f"would delete {1 + texts} photo(s), recording(s) and text(s)" in dry.output
    assert NAME not in dry.output and phone.number not in dry.output
    assert NAME in everything_said(line, case.id) and len(fake.stored_media) == 2

    real = CliRunner().invoke(main, ["purge"], env=_cli_env(line))

    assert real.exit_code == 0, real.output
    assert f"purged 1 case: {case.ref}" in real.output
    assert f"deleted {1 + texts} photo(s), recording(s) and text(s)" in real.output
    assert NAME not in everything_said(line, case.id) and len(fake.stored_media) == 1


def test_the_workers_daily_job_purges_and_a_failure_is_logged_and_counted(
    line, phone, fake, transport, monkeypatch, log_text
):
    case = found_case(phone, fake, line, days=91)
    scheduler.purge_job(line, transport)
    assert cases(line)[0].purged_at is not None and fake.stored_media == []

    def fails(*args):
        raise RuntimeError(f"{NAME} {phone.number}")

    monkeypatch.setattr(retention, "purge", fails)
    before = scheduler.FAILURES["purge"]
    scheduler.purge_job(line, transport)
    assert scheduler.FAILURES["purge"] - before == 1
    assert "job.error job=purge error=RuntimeError" in log_text()
    assert NAME not in log_text() and phone.number not in log_text() and case.ref in log_text()


def test_the_purge_runs_daily_at_a_quiet_hour_in_the_lines_time_zone(line):
    from apscheduler.schedulers.background import BackgroundScheduler

    clock = BackgroundScheduler(timezone="UTC")
    scheduler._add_jobs(clock, line, LocalTransport())
    trigger = clock.get_job("purge").trigger
    assert "hour='3'" in str(trigger) and "minute='30'" in str(trigger)
    assert str(trigger.timezone) == line.settings.timezone


@pytest.mark.parametrize("value", ["0", "-5", "ninety", "1.5"])
def test_a_retention_of_no_days_is_refused_at_start_up(tmp_path, value):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_RETENTION_DAYS": value}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert "INTAKE_RETENTION_DAYS must be a whole number of days from 1" in str(error.value)


def test_retention_is_90_days_unless_set(tmp_path):
    assert Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)}).retention_days == 90
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_RETENTION_DAYS": "30"}
    assert Settings.from_env(env).retention_days == 30
