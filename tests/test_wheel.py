"""`pip install .` makes a line that runs: the wheel, installed in a fresh virtual environment
away from the checkout (no network), starts with `intake run` on SQLite with its outbox, and
answers a signed text with the emergency message, from the words shipped inside it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest
import requests

from intake.core.words import facts
from intake.infra.config import Settings
from intake.simulator.phone import SMS_PATH, message_bodies, signed_headers, sms_params
from tests.conftest import CALLER

ROOT = Path(__file__).resolve().parent.parent
# What a source distribution holds (MANIFEST.in and pyproject.toml): the build reads these.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "intake", "flows", "templates")
PIP = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list, **kwargs) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(tmp_path: Path) -> Path:
    """The wheel `pip install .` would build, made from a copy of the sources (the build's
    own folders land in tmp_path, never in the checkout another test run reads)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source])
    (wheel,) = dist.glob("intake_line-*.whl")
    return wheel


def install(tmp_path: Path, wheel: Path) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies are read from this
    test's own environment (no network): its site-packages follow the fresh one's on the
    path. Only the folder is added, so this environment's editable checkout is not."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    run([*PIP, "--python", python, "install", "--no-deps", "--no-index", wheel])
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.strip(), "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def line_environment(tmp_path: Path, base_url: str) -> dict[str, str]:
    """Local mode (no Twilio: texts stay in the outbox) on a SQLite file of its own."""
    left_out = ("TWILIO_", "INTAKE_", "DATABASE_URL", "PUBLIC_BASE_URL", "PORT", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(left_out)}
    return env | {
        "INTAKE_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'line.db'}",
        "PUBLIC_BASE_URL": base_url,
    }


@pytest.fixture
def started():
    """Processes started by a test, ended after it."""
    processes: list[subprocess.Popen] = []
    yield processes.append
    for process in processes:
        process.terminate()
        process.communicate(timeout=30)


def test_the_installed_wheel_runs_the_line_and_answers_a_text(tmp_path, started):
    venv = install(tmp_path, build_wheel(tmp_path))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = line_environment(tmp_path, base)
    intake = str(venv / "bin" / "intake")

    # the installed package, not the checkout, with its words and static files inside it
    where = run(
        [
            venv / "bin" / "python",
            "-c",
            "import intake.core.words as w; print(w.__file__, w.TEMPLATES_DIR)",
        ],
        env=env,
        cwd=tmp_path,
    ).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where

    run([intake, "db", "upgrade"], env=env, cwd=tmp_path)
    line = subprocess.Popen(
        [intake, "run", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started(line)
    watchdog = threading.Timer(120, line.kill)  # a hung start fails the test, not the run
    watchdog.start()
    seen = []
    for output in line.stdout:
        seen.append(output)
        if "The line is up" in output:
            break
    watchdog.cancel()
    assert "The line is up" in "".join(seen), "".join(seen)

    settings = Settings.from_env(env)  # the instance folder's token: sign as Twilio would
    params = sms_params(CALLER, "please help my son is missing", settings=settings)
    headers = signed_headers(settings, SMS_PATH, params)
    answer = requests.post(base + SMS_PATH, data=params, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    reply = "\n".join(message_bodies(answer.text))
    assert facts()["police"] in reply and facts()["ncmec_digits"] in reply
    assert "waiting period" in reply

    photo = requests.get(base + "/simulator/static/sample-photo.jpg", timeout=30)
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"  # a JPEG
    page = requests.get(base + "/simulator/", timeout=30)
    assert page.status_code == 200 and "simulator.js" in page.text  # a template, rendered

    # the dev tools ship too: the terminal phone texts the installed line over HTTP
    texted = [intake, "simulate", "--from", "+12125550188", "--url", base]
    shown = run(texted, env=env, cwd=tmp_path, input="my daughter is missing\n")
    assert facts()["ncmec_digits"] in shown
