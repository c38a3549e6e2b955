"""What deploy/ ships: the TwiML Bin fallbacks are what the line would say now, and the
container image and units start commands that exist."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.cli.main import main
from intake.core import words
from intake.core.line import fallback_words
from intake.infra.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = DEPLOY / "twiml-bin"


def printed(args: list[str], tmp_path, **env: str) -> str:
    """What `intake ...` prints with the defaults (no INTAKE_*/TWILIO_* from outside)."""
    clean = {k: None for k in os.environ if k.startswith(("INTAKE_", "TWILIO_"))}
    clean |= {"DATABASE_URL": None, "PUBLIC_BASE_URL": None, "SECRET_KEY": None}
    clean |= {"INTAKE_INSTANCE_DIR": str(tmp_path)} | env
    result = CliRunner().invoke(main, args, env=clean)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_the_committed_twiml_bin_is_what_the_command_prints_now(tmp_path, channel):
    committed = (BIN / f"{channel}-fallback.xml").read_text()
    now = printed(["fallback-twiml", f"--{channel}"], tmp_path)
    assert committed == now, (
        "The words changed: regenerate the TwiML Bin file (with the defaults) with\n"
        f'  env -i PATH="$PATH" INTAKE_INSTANCE_DIR=/tmp/intake-bin .venv/bin/intake '
        f"fallback-twiml --{channel} > deploy/twiml-bin/{channel}-fallback.xml\n"
        "then run it with your own settings and paste that into your TwiML Bin."
    )


def test_the_sms_fallback_gives_the_emergency_text_in_english_and_spanish(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    root = ET.fromstring((BIN / "sms-fallback.xml").read_text())
    bodies = [message.text for message in root.iter("Message")]
    assert bodies == [
        "\n\n".join(fallback_words(settings, lang, channel="sms") for lang in words.LANGUAGES)
    ]
    assert "911" in bodies[0] and "1-800-843-5678" in bodies[0]


def test_the_voice_fallback_speaks_each_language_in_its_own_voice(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    root = ET.fromstring((BIN / "voice-fallback.xml").read_text())
    said = [(say.get("language"), say.text) for say in root.iter("Say")]
    assert said[:2] == [
        ("en-US", fallback_words(settings, "en", channel="voice", press_0=False)),
        ("es-US", fallback_words(settings, "es", channel="voice", press_0=False)),
    ]
    assert root[-1].tag == "Hangup"


@pytest.mark.parametrize("fallback_number", ["", "+12125550199"])
def test_the_voice_bin_promises_no_key_press_it_cannot_hear(tmp_path, fallback_number):
    """A TwiML Bin cannot act on a key: it offers none, and with a fallback number it puts
    the caller through without one (the line, up, offers 0 and listens for it)."""
    env = {"INTAKE_FALLBACK_ALERT_NUMBER": fallback_number}
    root = ET.fromstring(printed(["fallback-twiml", "--voice"], tmp_path, **env))
    said = " ".join(say.text for say in root.iter("Say")).lower()
    assert "press" not in said and "oprima" not in said
    assert not list(root.iter("Gather"))
    dialled = [dial.text for dial in root.iter("Dial")]
    assert dialled == ([fallback_number] if fallback_number else [])
    if fallback_number:
        assert "i am calling the person on call" in said
    committed = (BIN / "voice-fallback.xml").read_text().lower()
    assert "press" not in committed and "oprima" not in committed


def test_with_a_fallback_number_the_voice_bin_rings_it(tmp_path):
    xml = printed(
        ["fallback-twiml", "--voice"], tmp_path, INTAKE_FALLBACK_ALERT_NUMBER="+12125550199"
    )
    root = ET.fromstring(xml)
    assert [dial.text for dial in root.iter("Dial")] == ["+12125550199"]


def test_fallback_twiml_needs_a_channel(tmp_path):
    result = CliRunner().invoke(main, ["fallback-twiml"], env={"INTAKE_INSTANCE_DIR": "x"})
    assert result.exit_code == 2
    assert "say which: --sms or --voice" in result.output


# --- the container image, the units, nginx ------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_copies_files_that_exist_and_the_build_context_sends(tmp_path):
    steps = instructions(DEPLOY / "Dockerfile")
    sources = [src for op, args in steps if op == "COPY" for src in shlex.split(args)[:-1]]
    assert sources, "the image copies the code"
    for source in sources:
        assert (ROOT / source).exists(), f"deploy/Dockerfile copies {source}, which is missing"
    sent = [
        line[1:]
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert sorted(sources) == sorted(sent), "the build context must send what COPY takes"
    assert ("FROM", "python:3.11-slim") in steps
    assert any(op == "RUN" and "--require-hashes -r /app/requirements.lock" in a for op, a in steps)
    assert ("USER", "intake") in steps  # never root at run time


def entrypoint(*args: str, tmp_path) -> str:
    """Run deploy/entrypoint.sh from this checkout (the image runs it from /app)."""
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "TWILIO_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "INTAKE_APP_DIR": str(ROOT),
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.mark.parametrize("role", ["worker", "db", "check", "fallback-twiml"])
def test_each_entrypoint_role_is_an_intake_command(tmp_path, role):
    assert role in main.commands
    said = entrypoint(role, "--help", tmp_path=tmp_path)
    assert said.startswith(f"Usage: intake {role}"), said


def test_the_web_role_starts_gunicorn_with_the_config_and_the_app(tmp_path):
    said = entrypoint("web", "--print-config", "--check-config", tmp_path=tmp_path)
    assert "worker_class" in said and "gthread" in said  # gunicorn.conf.py was read


def unit(name: str) -> dict[str, str]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys keep their case
    parser.read(DEPLOY / name)
    return dict(parser["Service"])


@pytest.mark.parametrize(
    "name, command",
    [
        ("intake-web.service", "gunicorn -c /opt/intake/app/gunicorn.conf.py wsgi:app"),
        ("intake-worker.service", "python -m intake worker"),
    ],
)
def test_the_units_run_the_same_roles_hardened_with_secrets_from_a_file(name, command):
    service = unit(name)
    assert service["ExecStart"].endswith(command)
    assert service["EnvironmentFile"] == "/etc/intake/intake.env"
    assert service["User"] == "intake" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["WorkingDirectory"] == service["Environment"].split("=", 1)[1]


def gunicorn_settings(monkeypatch) -> dict:

    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def nginx_value(name: str) -> str:
    [value] = re.findall(rf"^\s*{name}\s+([^;{{]+);", (DEPLOY / "nginx.conf").read_text(), re.M)
    return value.strip()


def seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_nginx_and_gunicorn_agree_on_the_port_the_headers_and_the_clocks(monkeypatch):
    config = gunicorn_settings(monkeypatch)
    assert config["bind"] == [nginx_value("server")]  # 127.0.0.1:8000
    nginx = (DEPLOY / "nginx.conf").read_text()
    for header in config["secure_scheme_headers"]:
        assert re.search(rf"proxy_set_header {header}\s", nginx, re.I), header
    assert "proxy_set_header X-Forwarded-For" in nginx
    assert seconds(nginx_value("keepalive_timeout")) < config["keepalive"]
    # a stuck request is cut before Twilio's 15 s, after the line's own 5 s budget
    assert config["timeout"] < seconds(nginx_value("proxy_read_timeout")) < 15
    assert "%(U)s" in config["access_log_format"] and "%(r)s" not in config["access_log_format"]


def test_empty_settings_in_the_environment_file_mean_the_defaults(monkeypatch):
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.setenv(name, "")  # as .env.example leaves them, never ":8000" (all)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["bind"] == ["127.0.0.1:8000"]
    assert (config["workers"], config["threads"]) == (2, 4)
    assert config["forwarded_allow_ips"] == "127.0.0.1,::1"


# --- .env.example ------------------------------------------------------------------------


def test_the_env_example_can_be_sourced_by_a_shell_and_is_a_valid_configuration(tmp_path):
    """`set -a; . .env.example` in bash gives the values as written (a name with spaces
    whole), and those settings pass the line's own checks."""
    import subprocess

    script = "set -a; . ./.env.example; set +a; env -0"
    shell = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, env={}, timeout=10
    )
    assert shell.returncode == 0 and shell.stderr == "", shell.stderr
    sourced = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert sourced["INTAKE_ORG_NAME"] == "Bright Path Family Services"
    assert sourced["INTAKE_FOLLOWUP_SCHEDULE"] == "15m,1h,3h,8h,24h,48h"
    listed = [
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in listed)
    settings = Settings.from_env({**sourced, "INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert settings.org_name == "Bright Path Family Services"


def test_gunicorn_starts_with_the_env_example_as_the_units_read_it():
    """The README installs .env.example as the units' EnvironmentFile: gunicorn (which
    reads WEB_CONCURRENCY itself, as a number) must accept it as it stands."""
    import subprocess
    import sys

    gunicorn = Path(sys.executable).with_name("gunicorn")
    script = f'set -a; . ./.env.example; set +a; exec "{gunicorn}" -c gunicorn.conf.py '
    script += "--print-config wsgi:app"
    shell = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, env={}, timeout=30
    )
    assert shell.returncode == 0, shell.stderr[-600:]
    config = dict(
        (name.strip(), value.strip())
        for name, _, value in (line.partition("=") for line in shell.stdout.splitlines())
    )
    assert config["workers"] == "2" and config["threads"] == "4"
    assert config["bind"] == "['127.0.0.1:8000']" and config["control_socket_disable"] == "True"
