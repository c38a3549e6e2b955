"""GET /healthz: 200 only when the line can take a text; 503 says what is wrong."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from intake.app import create_app
from intake.infra.migrate import MIGRATIONS, head_revision, upgrade
from intake.oncall import roster
from tests.conftest import make_settings


def health(app):
    response = app.test_client().get("/healthz")
    return response.status_code, response.json


def app_on(url: str, tmp_path, **overrides):
    return create_app(make_settings(url, tmp_path, **overrides))


def test_a_migrated_database_is_healthy(app):
    status, body = health(app)
    assert status == 200
    assert (body["status"], body["database"], body["schema"]) == ("ok", "ok", "ok")


def test_an_unmigrated_database_is_503_and_says_to_upgrade(empty_db_url, tmp_path):
    app = app_on(empty_db_url, tmp_path)
    status, body = health(app)
    app.extensions["intake"].db.dispose()
    assert status == 503
    assert (body["database"], body["schema"]) == ("ok", "not migrated")
    assert "intake db upgrade" in body["problem"]


def test_a_database_one_migration_behind_is_503(empty_db_url, tmp_path):
    previous = ScriptDirectory(str(MIGRATIONS)).get_revision(head_revision()).down_revision
    upgrade(empty_db_url, previous)
    app = app_on(empty_db_url, tmp_path)
    status, body = health(app)
    assert (status, body["schema"]) == (503, "out of date")
    assert previous in body["problem"] and "intake db upgrade" in body["problem"]
    upgrade(empty_db_url)  # the same app, once upgraded, is healthy without a restart
    assert health(app)[0] == 200
    app.extensions["intake"].db.dispose()


def test_a_database_that_does_not_answer_is_503(tmp_path):
    app = app_on("postgresql+psycopg://postgres:pw-secret@127.0.0.1:9/intake", tmp_path)
    status, body = health(app)
    assert (status, body["database"]) == (503, "unavailable")
    assert "127.0.0.1:9" in body["problem"] and "pw-secret" not in body["problem"]


def test_an_empty_roster_without_a_fallback_is_nobody_to_alert(app, settings, tmp_path):
    status, body = health(app)
    assert (status, body["nobody_to_alert"]) == (200, True)
    with_fallback = app_on(settings.database_url, tmp_path, fallback_alert_number="+12125550199")
    assert health(with_fallback)[1]["nobody_to_alert"] is False
    with_fallback.extensions["intake"].db.dispose()


def test_someone_reachable_on_the_roster_is_somebody_to_alert(app):
    line = app.extensions["intake"]
    with line.db.transaction() as s:
        roster.add(s, "Ana", "+12125550111")
    assert health(app)[1]["nobody_to_alert"] is False
    with line.db.transaction() as s:
        roster.find(s, "Ana").opted_out_at = line.clock.now()  # texted STOP: unreachable
    assert health(app)[1]["nobody_to_alert"] is True
