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
