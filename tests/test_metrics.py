"""/metrics: Prometheus figures behind a token, read the way Prometheus reads them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_settings
from tests.test_outbox import intake

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def settings(db_url, tmp_path):
    return make_settings(db_url, tmp_path, metrics_token=TOKEN)


def scrape(client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers)


def figures(client) -> dict[tuple[str, tuple], float]:
    response = scrape(client)
    assert response.status_code == 200
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_without_the_token_nothing_is_shown(client):
    assert scrape(client, None).status_code == 401
    assert scrape(client, "wrong").status_code == 401


def test_without_a_configured_token_metrics_are_off(db_url, tmp_path):
    from intake.app import create_app

    app = create_app(make_settings(db_url, tmp_path))
    assert scrape(app.test_client()).status_code == 404
    app.extensions["intake"].db.dispose()


def test_the_figures_follow_the_line(client, phone):
    intake(phone)
    seen = figures(client)
    assert seen[("intake_cases", (("status", "open"),))] == 1
    assert seen[("intake_outbox_rows", (("status", "pending"),))] == 6  # the follow-ups
    assert seen[("intake_outbox_lag_seconds", ())] == 0
    assert seen[("intake_alerts_unacknowledged", ())] == 1  # nobody on call to take it
    latency = [k for k in seen if k[0] == "intake_webhook_seconds_count"]
    assert any(dict(k[1]).get("route") == "twilio.sms" and seen[k] >= 10 for k in latency)


# --- under gunicorn: every worker counted ---------------------------------------------


def test_a_scrape_counts_the_webhooks_of_every_gunicorn_worker(db_url, tmp_path):
    """Real gunicorn with gunicorn.conf.py and 2 workers: texts answered by both workers
    all show in one scrape, whichever worker answers it. Nothing is left in the home
    folder (no control socket) and the metrics folder goes with gunicorn."""
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import requests

    from intake.infra import signing
    from intake.simulator import phone as simulator
    from tests.conftest import CALLER
    from tests.conftest import TOKEN as AUTH_TOKEN
    from tests.test_startup import ROOT, environment, free_port

    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = environment(
        tmp_path,
        db_url,
        PORT=str(port),
        HOME=str(home),
        TMPDIR=str(tmp_path),
        WEB_CONCURRENCY="2",
        INTAKE_METRICS_TOKEN=TOKEN,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        GUNICORN_CMD_ARGS="--access-logformat 'served-by=%(p)s %(U)s %(s)s'",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    try:
        for line in server.stdout:  # both workers up: each logs "Booting worker"
            log.append(line)
            if sum("Booting worker" in seen for seen in log) == 2:
                break
        base = f"http://127.0.0.1:{port}"
        workers: set[str] = set()
        sent = 0
        while len(workers) < 2 and sent < 200:  # until texts were answered by both
            params = simulator.sms_params(CALLER, f"hello {sent}")
            signed = signing.sign(AUTH_TOKEN, f"{base}/twilio/sms", params)
            answer = requests.post(
                f"{base}/twilio/sms",
                data=params,
                headers={signing.SIGNATURE_HEADER: signed, "Connection": "close"},
                timeout=20,
            )
            assert answer.status_code == 200
            sent += 1
            line = server.stdout.readline()
            while "/twilio/sms" not in line:
                line = server.stdout.readline()
            workers.add(re.search(r"served-by=<(\d+)>", line).group(1))
        assert len(workers) == 2, "gunicorn gave every text to one worker"
        for _ in range(4):  # each scrape is answered by one worker or the other
            scraped = requests.get(
                f"{base}/metrics",
                headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"},
                timeout=20,
            )
            counts = re.findall(
                r'^intake_webhook_seconds_count\{route="twilio.sms"\} (\S+)$',
                scraped.text,
                re.M,
            )
            assert [float(c) for c in counts] == [float(sent)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert list(home.iterdir()) == []  # no ~/.gunicorn control socket
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("intake-metrics-")]
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None  # this process untouched
