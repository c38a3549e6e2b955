"""gunicorn's access log, with the production config: a path cannot forge a log line.

gunicorn logs the path decoded, so `%0a` in it was a line break in the web log (a forged
`… INFO staff.signed_in account=1` line) and `%00` a raw NUL. Real gunicorn, real sockets.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from intake.infra import crypto
from tests.test_worker import wait_for

ROOT = Path(__file__).resolve().parent.parent
FORGED = "2026-12-07 03:00:00,000 INFO staff.signed_in account=1"
PROBES = [
    "/x%0a" + FORGED.replace(" ", "%20"),
    "/x%0d%0a" + FORGED.replace(" ", "%20"),
    "/nul%00byte",
    "/quote%22%20200%20-%200ms%0a",
    "/bidi%E2%80%AEgnp.exe",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def raw_get(port: int, path: str) -> None:
    """One request with the path exactly as written (no client re-encodes it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: line\r\nConnection: close\r\n\r\n".encode())
        while conn.recv(65536):
            pass


@pytest.fixture
def web_log(tmp_path, sqlite_template) -> bytes:
    """Run gunicorn with gunicorn.conf.py, send the probes, stop it: its log, as bytes."""
    shutil.copy(sqlite_template, tmp_path / "intake.db")
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "PUBLIC_BASE_URL": "https://line.example.org",
        "INTAKE_INSTANCE_DIR": str(tmp_path / "instance"),
        "INTAKE_DATA_KEYS": crypto.local_key(tmp_path),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "web.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        wait_for(lambda: up(f"http://127.0.0.1:{port}"), 30)
        for path in PROBES:
            raw_get(port, path)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return log.read_bytes()


def test_a_path_cannot_forge_a_line_or_write_a_nul_in_the_access_log(web_log):
    assert b"\x00" not in web_log
    text = web_log.decode("utf-8")
    lines = text.splitlines()
    assert not any(line.startswith(FORGED[:23]) for line in lines)  # no line of its own
    requests_logged = [line for line in lines if '"GET /' in line and "/healthz" not in line]
    assert len(requests_logged) == len(PROBES)  # each probe on one line
    assert any("/x\\n" + FORGED in line for line in requests_logged)
    assert any("/x\\r\\n" + FORGED in line for line in requests_logged)
    assert any("/nul\\x00byte" in line for line in requests_logged)
    assert any('/quote\\" 200 - 0ms\\n"' in line for line in requests_logged)
    assert "\u202e" not in text  # a right-to-left override would turn the line around
