"""Starting the line, as an operator does: real processes, real ports, real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from intake.core import outbox
from intake.core.models import OnCallPerson
from intake.infra import crypto
from intake.oncall import roster
from tests.conftest import postgres_only

BIN = Path(sys.executable).parent
INTAKE = str(BIN / "intake")
ROOT = Path(__file__).resolve().parent.parent
NOBODY = "Nobody on the roster can be alerted"


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "INTAKE_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": database_url}
    # the data key the test's own app generated (conftest: instance_dir is tmp_path/instance)
    env["INTAKE_DATA_KEYS"] = crypto.local_key(tmp_path / "instance")
    for name in ("PORT", "INTAKE_FALLBACK_ALERT_NUMBER", "TWILIO_ACCOUNT_SID"):
        env.pop(name, None)
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A running command whose output (stdout and stderr, line by line) a test reads."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: bool = False):
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.seen: list[str] = []
        # a safety net, not an assertion: a hung process is ended so the test fails, not hangs
        self.watchdog = threading.Timer(90, self.proc.kill)
        self.watchdog.start()

    def read_until(self, text: str) -> list[str]:
        """Lines up to and including the first that holds `text` (fails at end of output)."""
        start = len(self.seen)
        for line in self.proc.stdout:
            self.seen.append(line.rstrip("\n"))
            if text in line:
                return self.seen[start:]
        pytest.fail(f"{text!r} never came; output was:\n" + "\n".join(self.seen))

    def type(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.communicate(timeout=30)


@pytest.fixture
def processes():
    started: list[Process] = []
    yield lambda *args, **kwargs: started.append(Process(*args, **kwargs)) or started[-1]
    for process in started:
        process.stop()


def intake(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INTAKE, *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def errors(result: subprocess.CompletedProcess) -> list[str]:
    """The plain sentences click printed, after checking that nothing else went wrong."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# --- intake run ---------------------------------------------------------------------------


def test_run_says_the_line_is_up_only_once_it_answers_on_port(db_url, tmp_path, processes):
    port = free_port()
    line = processes([INTAKE, "run"], environment(tmp_path, db_url, PORT=str(port)))
    before = line.read_until("The line is up on")
    assert before[-1].startswith(f"The line is up on http://127.0.0.1:{port} ")
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)  # no retry needed
    assert health.status_code == 200 and health.json()["nobody_to_alert"] is True
    assert any("CRITICAL oncall.nobody_to_alert" in seen for seen in before)
    assert f"CRITICAL: {NOBODY}" in "\n".join(before)
    told = line.read_until("intake staff add")
    assert f"Staff dashboard: http://127.0.0.1:{port}/dashboard/" in told
    assert "--admin" in told[-1]


def test_run_on_a_port_in_use_says_so(db_url, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = intake(["run", "--port", str(port)], environment(tmp_path, db_url))
    errors(result)
    assert f"Port {port} is in use by another program" in result.stderr
    assert "The line is up" not in result.stdout


@pytest.mark.parametrize("command", [["run", "--port", "0"], ["worker"]])
def test_before_db_upgrade_run_and_worker_say_to_upgrade(empty_db_url, tmp_path, command):
    result = intake(command, environment(tmp_path, empty_db_url))
    [sentence] = errors(result)
    assert "run `intake db upgrade`" in sentence
    assert "The line is up" not in result.stdout


# --- intake worker ------------------------------------------------------------------------


def test_worker_warns_loudly_when_nobody_can_be_alerted(db_url, tmp_path, processes):
    worker = processes([INTAKE, "worker"], environment(tmp_path, db_url))
    said = worker.read_until("worker.started")
    assert any("CRITICAL oncall.nobody_to_alert" in line for line in said)
    assert any(line.startswith(f"CRITICAL: {NOBODY}") for line in said)


def test_worker_with_a_fallback_number_does_not_warn(db_url, tmp_path, processes):
    env = environment(tmp_path, db_url, INTAKE_FALLBACK_ALERT_NUMBER="+12125550199")
    said = processes([INTAKE, "worker"], env).read_until("worker.started")
    assert not any("nobody_to_alert" in line or NOBODY in line for line in said)


# --- a bad DATABASE_URL -------------------------------------------------------------------

EVERY_COMMAND = [
    ["db", "upgrade"],
    ["run", "--port", "0"],
    ["worker"],
    ["outbox"],
    ["case", "close", "K7M3QX"],
    ["oncall", "list"],
    ["oncall", "add", "--name", "Ana", "--phone", "+12125550111"],
    ["oncall", "remove", "Ana"],
    ["oncall", "move", "Ana", "--to", "1"],
    ["simulate", "--from", "+12125551234"],
]
REFUSED = "postgresql+psycopg://intake:pw-secret@127.0.0.1:9/intake"


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c[:2]))
def test_a_database_that_refuses_gets_one_sentence_from_every_command(tmp_path, command):
    result = intake(command, environment(tmp_path, REFUSED))
    [sentence] = errors(result)
    assert "Nothing answers at 127.0.0.1:9" in sentence
    assert "pw-secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["db", "upgrade"], ["worker"], ["simulate", "--from", "+1"]])
def test_postgres_scheme_is_named_with_the_one_to_use(tmp_path, command):
    result = intake(command, environment(tmp_path, "postgres://intake:pw-secret@db/intake"))
    assert "write postgresql+psycopg:// instead" in result.stderr
    assert "pw-secret" not in result.stderr and "Traceback" not in result.stderr


MISSING_DATABASE = postgres_only()


@pytest.mark.parametrize("server", MISSING_DATABASE)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["oncall", "list"]])
def test_a_database_that_does_not_exist_is_named(tmp_path, server, command):
    from sqlalchemy.engine import make_url

    url = make_url(server).set(database="intake_nowhere_1234").render_as_string(False)
    [sentence] = errors(intake(command, environment(tmp_path, url)))
    assert "The database intake_nowhere_1234 does not exist" in sentence


def test_a_sqlite_file_that_cannot_be_opened_is_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'a-file' / 'under-a-file' / 'intake.db'}"
    (tmp_path / "a-file").write_text("not a folder")
    [sentence] = errors(intake(["db", "upgrade"], environment(tmp_path, url)))
    assert "cannot be opened" in sentence and "under-a-file" in sentence


# --- the roster from the command line -----------------------------------------------------


def test_remove_or_move_by_a_shared_name_changes_nothing(app, db_url, tmp_path):
    line = app.extensions["intake"]
    with line.db.transaction() as s:
        roster.add(s, "Ana Ruiz", "+12125550111")
        roster.add(s, "Ben", "+12125550122")
        roster.add(s, "Ana R.", "+12125550112")
        # a roster from before names had to differ
        s.execute(update(OnCallPerson).where(OnCallPerson.name == "Ana R.").values(name="ana ruiz"))
    env = environment(tmp_path, db_url)
    before = intake(["oncall", "list"], env).stdout
    for command in (["oncall", "remove", "Ana Ruiz"], ["oncall", "move", "ANA RUIZ", "--to", "2"]):
        [sentence] = errors(intake(command, env))
        assert "2 people are called" in sentence and "use the phone number" in sentence
    assert intake(["oncall", "list"], env).stdout == before


def test_adding_a_name_already_on_the_roster_is_refused(db_url, tmp_path):
    env = environment(tmp_path, db_url)
    assert (
        intake(["oncall", "add", "--name", "Ana", "--phone", "+12125550111"], env).returncode == 0
    )
    again = intake(["oncall", "add", "--name", "ANA", "--phone", "+12125550112"], env)
    [sentence] = errors(again)
    assert "already on the roster" in sentence
    [bad] = errors(intake(["oncall", "add", "--name", "Cy", "--phone", "555-1234"], env))
    assert "not a phone number that can be dialled" in bad


# --- times shown to staff -----------------------------------------------------------------


def test_outbox_shows_send_times_in_the_line_zone(app, db_url, tmp_path):
    with app.extensions["intake"].db.transaction() as s:
        at = datetime(2026, 11, 30, 2, 40, tzinfo=UTC)
        outbox.enqueue(
            s, kind="followup", to="+12125551234", body="hello", send_at=at, channel="sms"
        )
    env = environment(tmp_path, db_url, INTAKE_TIMEZONE="America/New_York")
    assert "2026-11-29 21:40 EST" in intake(["outbox"], env).stdout
    env["INTAKE_TIMEZONE"] = "America/Los_Angeles"
    assert "2026-11-29 18:40 PST" in intake(["outbox"], env).stdout


# --- intake simulate ----------------------------------------------------------------------


def test_simulate_against_a_dead_address_says_so(db_url, tmp_path):
    result = intake(
        ["simulate", "--from", "+12125551234", "--url", "http://127.0.0.1:9"],
        environment(tmp_path, db_url),
    )
    [sentence] = errors(result)
    assert "Nothing answers at http://127.0.0.1:9" in sentence and "intake run" in sentence


def test_simulate_before_db_upgrade_says_to_upgrade(empty_db_url, tmp_path):
    result = intake(["simulate", "--from", "+12125551234"], environment(tmp_path, empty_db_url))
    [sentence] = errors(result)
    assert "intake db upgrade" in sentence


def test_simulate_shows_the_line_own_texts_as_they_go_out(app, db_url, tmp_path, processes):
    port = free_port()
    env = environment(tmp_path, db_url, PORT=str(port), INTAKE_DISPATCH_INTERVAL="1s")
    processes([INTAKE, "run"], env).read_until("The line is up")
    sender = "+12125551234"
    phone = processes(
        [INTAKE, "simulate", "--from", sender, "--url", f"http://127.0.0.1:{port}"],
        env,
        stdin=True,
    )
    phone.type("my son is missing")
    phone.read_until("NCMEC")
    with app.extensions["intake"].db.transaction() as s:  # as a relay or follow-up would
        outbox.enqueue(
            s,
            kind="relay",
            to=sender,
            body="A worker has your case.",
            send_at=app.extensions["intake"].clock.now(),
            channel="sms",
        )
    # nothing more is typed: the text shows up because the line sent it
    shown = phone.read_until("A worker has your case.")
    assert "< (sent by the line) A worker has your case." in shown


# --- production ---------------------------------------------------------------------------


def test_the_readme_production_command_serves_the_line(db_url, tmp_path, processes):
    port = free_port()
    env = environment(tmp_path, db_url)
    server = processes(
        [str(BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"], env
    )
    said = server.read_until("oncall.nobody_to_alert")  # logged once the app is loaded
    assert "CRITICAL" in said[-1]
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert health.status_code == 200
