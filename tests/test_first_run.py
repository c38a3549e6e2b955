"""What the project writes outside the checkout on first use is safe when two processes
make it at once: `make test` runs two pytest-xdist workers on a new machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Waits for the go file, so both processes start at the same moment, then grades a
# sentence as the template tests do (textstat reads the dictionary through NLTK). NLTK's
# own folders are left out, so a copy elsewhere on the machine cannot hide the first run.
FIRST_USE = """
import sys, time
from pathlib import Path
import nltk
from intake.devtools import words_report

nltk.data.path[:] = []
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
print(words_report.fk_grade("The child is missing."), nltk.corpus.cmudict.dict()["child"][0])
"""


def at_once(script: str, env: dict[str, str], tmp_path: Path, processes: int = 2) -> list[str]:
    """Run a script in several processes released together; what each printed."""
    go = tmp_path / "go"
    running = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    go.touch()
    outputs = [process.communicate(timeout=120) for process in running]
    for process, (_, err) in zip(running, outputs, strict=True):
        assert process.returncode == 0, err
    return [out.strip() for out, _ in outputs]


def test_two_processes_make_the_offline_dictionary_at_once_on_an_empty_folder(tmp_path):
    root = tmp_path / "nltk-data"
    printed = at_once(FIRST_USE, {"INTAKE_NLTK_DATA": str(root)}, tmp_path=tmp_path)
    assert len(set(printed)) == 1 and printed[0].endswith("['CH', 'AY1', 'L', 'D']")
    corpus = root / "corpora" / "cmudict"
    assert [p.name for p in corpus.iterdir()] == ["cmudict"]  # no half-written file left


# The embedded default's first start: the instance folder's secrets, made by whichever
# process comes first (two gunicorn workers, or `make run` beside `intake simulate`).
FIRST_START = """
import sys, time
from pathlib import Path
from intake.infra.config import Settings

go = Path(sys.argv[1])
while not go.exists():
    pass
settings = Settings.from_env({"INTAKE_INSTANCE_DIR": sys.argv[2]})
print(settings.secret_key, settings.twilio_auth_token, settings.data_keys[0])
"""


def test_processes_starting_together_on_a_new_instance_folder_share_one_set_of_secrets(
    tmp_path,
):
    instance = tmp_path / "instance"
    script = FIRST_START.replace("sys.argv[2]", repr(str(instance)))
    printed = at_once(script, {}, tmp_path=tmp_path, processes=4)
    secret_key, token, data_key = printed[0].split()
    assert len(secret_key) == 64 and len(token) == 64 and data_key.endswith("=")
    assert printed == [printed[0]] * 4  # one key for everyone: none read a half-made file
    assert sorted(p.name for p in instance.iterdir()) == [
        "data_key",
        "secret_key",
        "twilio_auth_token",
    ]


def test_a_skipped_postgresql_test_says_how_to_run_it(monkeypatch):
    from tests import conftest

    monkeypatch.setattr(conftest, "POSTGRES_URL", "")
    [skipped] = conftest.postgres_only()
    [mark] = skipped.marks
    assert "INTAKE_TEST_POSTGRES_URL=postgresql+psycopg://" in mark.kwargs["reason"]


def test_ci_starts_as_a_new_machine_without_what_earlier_runs_left(tmp_path):
    """.ci/run removes the folders the project keeps outside the checkout, then runs
    `make test` (here a stand-in that records what it finds)."""
    home, temporary, stand_in = tmp_path / "home", tmp_path / "tmp", tmp_path / "bin"
    (temporary / "intake-nltk-data" / "corpora" / "cmudict").mkdir(parents=True)
    (home / ".gunicorn").mkdir(parents=True)
    (home / ".config").mkdir()  # not ours: left alone
    stand_in.mkdir()
    record = 'echo "$@" > "$SEEN"; ls -A "$TMPDIR" "$HOME" >> "$SEEN"'
    (stand_in / "make").write_text(f"#!/bin/sh\n{record}\n")
    (stand_in / "make").chmod(0o755)
    seen = tmp_path / "seen"
    env = {
        "PATH": f"{stand_in}:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(temporary),
        "SEEN": str(seen),
    }
    done = subprocess.run([str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ran, *found = seen.read_text().split("\n")
    assert ran == "test"
    assert "intake-nltk-data" not in found and ".gunicorn" not in found
    assert ".config" in found
