"""The `intake` command, run as a user would run it: a real process, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from intake.words import facts

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
        ["simulate", "--from", "+15555550123"], tmp_path, stdin="my son is missing\nLeo\n"
    )
    assert chat.returncode == 0, chat.stderr
    assert facts()["ncmec_digits"] in chat.stdout
    assert "How old" in chat.stdout or "age" in chat.stdout.lower()


def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path):
    result = run_intake(["db", "upgrade"], tmp_path, INTAKE_TIMEZONE="Nowhere/Land")
    assert result.returncode != 0
    assert "INTAKE_TIMEZONE must be a time zone name" in result.stderr
    assert "Traceback" not in result.stderr
