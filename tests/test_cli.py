"""The `intake` command, run as a user would run it: a real process, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from intake.core.words import facts

INTAKE = str(Path(sys.executable).with_name("intake"))


def run_intake(args: list[str], tmp_path: Path, stdin: str = "", **env: str):
    environment = {**os.environ, "INTAKE_INSTANCE_DIR": str(tmp_path), **env}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [INTAKE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )


def test_db_upgrade_then_simulate_a_chat(tmp_path):
    upgraded = run_intake(["db", "upgrade"], tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "intake.db").exists()
    chat = run_intake(
        ["simulate", "--from", "+15555550123"], tmp_path, stdin="my son is missing\nyes\nLeo\n"
    )
    assert chat.returncode == 0, chat.stderr
    assert facts()["ncmec_digits"] in chat.stdout
    assert "How old" in chat.stdout or "age" in chat.stdout.lower()


def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path):
    result = run_intake(["db", "upgrade"], tmp_path, INTAKE_TIMEZONE="Nowhere/Land")
    assert result.returncode != 0
    assert "INTAKE_TIMEZONE must be a time zone name" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_on_call_roster_from_the_command_line(tmp_path):
    assert run_intake(["db", "upgrade"], tmp_path).returncode == 0
    added = run_intake(
        [
            "oncall",
            "add",
            "--name",
            "Ana Ruiz",
            "--phone",
            "(212) 555-0111",
            "--by",
            "both",
            "--window",
            "weekdays 17:00-09:00",
            "--window",
            "weekends all day",
        ],
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "+12125550111" in added.stdout and "place 1" in added.stdout
    ben = ["oncall", "add", "--name", "Ben", "--phone", "+12125550122", "--by", "call"]
    run_intake(ben, tmp_path)  # stored as "voice", the one word for a call; shown as "call"
    moved = run_intake(["oncall", "move", "Ben", "--to", "1"], tmp_path)
    assert "place 1" in moved.stdout
    listed = run_intake(["oncall", "list"], tmp_path).stdout.splitlines()
    assert "Ben" in listed[0] and "by call" in listed[0] and "always" in listed[0]
    assert "Ana Ruiz" in listed[1] and "mon-fri 17:00-09:00; sat,sun" in listed[1]
    removed = run_intake(["oncall", "remove", "+12125550122"], tmp_path)
    assert removed.returncode == 0 and "Ben" in removed.stdout
    assert "Ben" not in run_intake(["oncall", "list"], tmp_path).stdout


def test_a_bad_window_is_refused_with_an_example(tmp_path):
    assert run_intake(["db", "upgrade"], tmp_path).returncode == 0
    bad = run_intake(
        ["oncall", "add", "--name", "Ana", "--phone", "+12125550111", "--window", "funday"],
        tmp_path,
    )
    assert bad.returncode != 0 and "Write it like" in bad.stderr
    assert "Traceback" not in bad.stderr
