"""The operator's first hour: the commands say what they did, where the line is, and what
an account can do; the address itself leads somewhere and has an icon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from intake.app import create_app
from intake.oncall import roster
from tests.conftest import ACCOUNT, make_settings
from tests.test_startup import ROOT, environment, free_port
from tests.test_startup import processes as processes  # the fixture

INTAKE = str(Path(sys.executable).parent / "intake")
PASSWORD = "correct horse battery"


def run(args: list[str], env: dict[str, str], stdin: str = "", path: str | None = None):
    """`intake ...` as the operator types it, from the checkout."""
    env = {**env, "PATH": path if path is not None else env.get("PATH", "")}
    return subprocess.run(
        [INTAKE, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )


# --- the address ----------------------------------------------------------------------


def test_the_address_leads_to_the_simulator_in_local_mode(client):
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/simulator/"


def test_with_twilio_the_address_leads_to_the_dashboard(db_url, tmp_path):
    app = create_app(make_settings(db_url, tmp_path, twilio_account_sid=ACCOUNT))
    try:
        answer = app.test_client().get("/")
        assert answer.status_code == 302 and answer.headers["Location"] == "/dashboard/"
    finally:
        app.extensions["intake"].db.dispose()


def test_browsers_find_the_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/x-icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


# --- intake db upgrade ----------------------------------------------------------------


def test_db_upgrade_says_it_made_the_tables_then_that_there_was_nothing_to_do(tmp_path):
    env = environment(tmp_path, f"sqlite:///{tmp_path / 'new.db'}")
    first = run(["db", "upgrade"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created the tables (migration ")
    again = run(["db", "upgrade"], env)
    assert again.stdout.startswith("the database was already up to date (migration ")


# --- intake staff -----------------------------------------------------------------------


@pytest.fixture
def operator_env(db_url, tmp_path) -> dict[str, str]:
    """The line's settings for commands, with nothing listening at its local address."""
    return environment(tmp_path, db_url, PORT=str(free_port()))


def test_the_password_rule_is_said_before_the_password_is_asked(operator_env):
    add = [INTAKE, "staff", "add", "--email", "ana@example.org", "--name", "Ana Ruiz"]
    typed = subprocess.run(  # what the terminal shows, both streams in order
        add,
        input="short\nshort\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env=operator_env,
        cwd=ROOT,
    ).stdout
    rule = typed.index("The password needs at least 12 characters")
    assert rule < typed.index("Password:")


def test_staff_accounts_are_listed_given_a_phone_and_a_role(line, operator_env):
    with line.db.transaction() as s:
        roster.add(s, "Ana Ruiz", "+12125550111", region="US")
    add = ["staff", "add", "--email", "ana@example.org", "--name", "Ana Ruiz", "--password-stdin"]
    added = run([*add, "--phone", "(212) 555-0111"], operator_env, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "not on the on-call roster" not in added.stderr
    bo = ["staff", "add", "--email", "bo@example.org", "--name", "Bo Chen", "--password-stdin"]
    off_roster = run([*bo, "--phone", "+12125550122"], operator_env, stdin=PASSWORD)
    assert "+12125550122 is not on the on-call roster" in off_roster.stderr
    moved = run(["staff", "set-phone", "bo@example.org", "212-555-0111"], operator_env)
    assert moved.returncode == 0 and "phone +12125550111" in moved.stdout
    assert "not on the on-call roster" not in moved.stderr
    stray = run(["staff", "set-phone", "ana@example.org", "+12125550199"], operator_env)
    assert "+12125550199 is not on the on-call roster" in stray.stderr
    promoted = run(["staff", "set-role", "bo@example.org", "admin"], operator_env)
    assert promoted.returncode == 0 and "bo@example.org is now admin" in promoted.stdout
    run(["staff", "remove", "--email", "ana@example.org"], operator_env)
    listed = run(["staff", "list"], operator_env).stdout.splitlines()
    assert listed[0].split()[:2] == ["bo@example.org", "admin"] and "+12125550111" in listed[0]
    assert "ana@example.org" in listed[1] and "(not on the roster)" in listed[1]
    assert "removed: cannot sign in" in listed[1]
    refused = run(["staff", "set-role", "bo@example.org", "owner"], operator_env)
    assert refused.returncode == 1 and "the role must be one of: staff, admin" in refused.stderr


def test_numbers_are_read_in_the_configured_region(operator_env):
    uk = {**operator_env, "INTAKE_DEFAULT_REGION": "GB"}
    add = ["staff", "add", "--email", "ana@example.org", "--name", "Ana", "--password-stdin"]
    added = run([*add, "--phone", "07400 123456"], uk, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "+447400123456 is not on the on-call roster" in added.stderr


def test_a_fallback_number_is_read_in_the_configured_region(operator_env):
    uk = {**operator_env, "INTAKE_DEFAULT_REGION": "GB"}
    result = run(["staff", "list"], {**uk, "INTAKE_FALLBACK_ALERT_NUMBER": "07400 123456"})
    assert result.returncode == 0, result.stderr


def test_staff_add_says_where_to_sign_in(operator_env, processes):
    add = ["staff", "add", "--email", "ana@example.org", "--name", "Ana", "--password-stdin"]
    port = operator_env["PORT"]
    idle = run(add, operator_env, stdin=PASSWORD)
    assert f"sign in at http://127.0.0.1:{port}/dashboard/ once the line runs there" in idle.stdout
    processes([INTAKE, "run"], operator_env).read_until("The line is up")
    add[3] = "bo@example.org"
    up = run(add, operator_env, stdin=PASSWORD)
    assert f"sign in at http://127.0.0.1:{port}/dashboard/ (the line answers there now)" in (
        up.stdout
    )
    public = {**operator_env, "PUBLIC_BASE_URL": "https://line.example.org"}
    add[3] = "cy@example.org"
    assert "sign in at https://line.example.org/dashboard/\n" in run(add, public, PASSWORD).stdout


def test_without_intake_on_the_path_the_commands_shown_name_the_venv(operator_env):
    shown = run(["staff", "list"], operator_env, path="/usr/bin:/bin").stdout
    assert "Make the first: .venv/bin/intake staff add --email" in shown
    checked = run(["check"], operator_env, path="/usr/bin:/bin").stdout
    assert "Add someone with `.venv/bin/intake oncall add`" in checked


# --- intake simulate --url ------------------------------------------------------------


def test_simulate_signs_for_the_address_it_is_given(operator_env, processes):
    port = str(free_port())  # not $PORT: the line was started with --port
    processes([INTAKE, "run", "--port", port], operator_env).read_until("The line is up")
    phone = run(
        ["simulate", "--from", "+12125551234", "--url", f"http://127.0.0.1:{port}"],
        operator_env,
        stdin="my son is missing\n",
    )
    assert phone.returncode == 0, phone.stderr
    assert "1-800-843-5678" in phone.stdout


def test_a_read_only_instance_folder_is_named_with_what_to_set(tmp_path):
    """A server's checkout is read-only to the line's user: without the secrets set,
    the command says so in a sentence instead of a traceback."""
    locked = tmp_path / "code"
    locked.mkdir(mode=0o555)
    env = environment(tmp_path, f"sqlite:///{tmp_path / 'line.db'}")
    env |= {"INTAKE_INSTANCE_DIR": str(locked / "instance"), "INTAKE_DATA_KEYS": ""}
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", INTAKE]
    result = subprocess.run(
        [*as_nobody, "db", "upgrade"] if os.geteuid() == 0 else [INTAKE, "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd="/",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot keep generated secrets in {locked / 'instance'}" in result.stderr
    assert "set TWILIO_AUTH_TOKEN, SECRET_KEY and INTAKE_DATA_KEYS" in result.stderr
