"""The house's layout: the running line never loads the dev tools, and the webhook paths
Twilio is given are one list that the app routes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from intake.core import webhooks

ROOT = Path(__file__).resolve().parent.parent

# Every module of the runtime imported (Alembic's scripts aside: they run under Alembic),
# the app built and serving a request, the CLI loaded; then what was loaded: no module of
# intake.devtools may be among them (`intake simulate` imports it inside the command).
RUNTIME = """
import importlib, pkgutil, sys

def walk(package):
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if module.name in ("intake.devtools", "intake.infra.migrations"):
            continue
        loaded = importlib.import_module(module.name)
        if module.ispkg:
            walk(loaded)

import intake, flows
walk(intake)
walk(flows)
import wsgi
wsgi.app.test_client().get("/healthz")
from intake.cli.main import main
print(" ".join(sorted(name for name in sys.modules if name.startswith("intake"))))
"""


def test_the_runtime_never_imports_the_dev_tools(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "INTAKE_"))}
    env |= {"INTAKE_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    done = subprocess.run(
        [sys.executable, "-c", RUNTIME], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "intake.web.simulator" in loaded and "intake.cli.main" in loaded  # the walk reached them
    assert [name for name in loaded if name.startswith("intake.devtools")] == []


def test_every_webhook_twilio_is_given_is_a_route_of_the_app(app):
    routes = app.url_map.bind("line.example.org")
    for path in webhooks.ALL:
        endpoint, _ = routes.match(path, method="POST")
        assert endpoint.split(".")[0] in ("twilio", "voice"), (path, endpoint)
    console = [hook.path for hook in webhooks.CONSOLE]
    assert console == ["/twilio/sms", "/twilio/voice", "/twilio/voice/status"]  # as Twilio has them
