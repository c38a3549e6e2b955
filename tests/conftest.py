"""Fixtures: a real database (SQLite, and PostgreSQL when configured), a real app, a phone.

Every test that asks for `app` or `db_url` runs once per database. With
INTAKE_TEST_POSTGRES_URL set, PostgreSQL must answer: a dead server fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from intake.app import create_app
from intake.infra import signing
from intake.infra.clock import SettableClock
from intake.infra.config import Settings
from intake.infra.migrate import upgrade
from intake.simulator import phone as simulator
from tests.fake_twilio import FakeTwilio

POSTGRES_URL = os.environ.get("INTAKE_TEST_POSTGRES_URL", "").strip()
DATABASES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
HOW_TO_RUN_POSTGRES = (
    "PostgreSQL only: to run it, set INTAKE_TEST_POSTGRES_URL to a server where the tests "
    "may create databases, e.g. "
    "INTAKE_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test"
)


def pytest_configure(config) -> None:
    """CI runs every test on both databases: without PostgreSQL it stops at once, rather
    than skip the PostgreSQL tests quietly."""
    if os.environ.get("CI") == "true" and not POSTGRES_URL:
        raise pytest.UsageError(f"CI=true needs PostgreSQL. {HOW_TO_RUN_POSTGRES}")


def postgres_only(value: str | None = None) -> list:
    """Parameters for a PostgreSQL-only test: the server (or `value`), or one skip that
    says how to run it."""
    if POSTGRES_URL:
        return [value or POSTGRES_URL]
    return [pytest.param(None, marks=pytest.mark.skip(reason=HOW_TO_RUN_POSTGRES))]


TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://line.example.org"
CALLER = "+12125551234"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file that each test copies (migrating once is faster)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end."""
    admin_url = make_url(POSTGRES_URL)
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # fails loudly when PostgreSQL does not answer
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path, sqlite_template) -> str:
    """An empty, migrated database of each kind in turn."""
    return empty_database(request, request.param, tmp_path, sqlite_template)


def empty_database(request, kind: str, tmp_path, sqlite_template: str) -> str:
    """An empty, migrated database of one kind ("sqlite" or "postgres")."""
    if kind == "sqlite":
        path = tmp_path / "intake.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def make_settings(db_url: str, tmp_path, **overrides) -> Settings:
    values = dict(
        database_url=db_url,
        public_base_url=BASE_URL,
        twilio_auth_token=TOKEN,
        org_name="Bright Path Family Services",
        secret_key="test-secret-key",
        instance_dir=tmp_path / "instance",
    )
    values.update(overrides)
    return Settings(**values)


ACCOUNT = "AC" + "7" * 32
LINE_NUMBER = "+12125550100"


@pytest.fixture
def fake():
    """A local fake of Twilio's REST API, reached through the real twilio client."""
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as fake:
        yield fake


def twilio_settings(db_url: str, tmp_path, fake: FakeTwilio, **overrides) -> Settings:
    """Settings for a line with Twilio credentials, its REST calls sent to the fake."""
    return make_settings(
        db_url,
        tmp_path,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
        twilio_api_base_url=fake.base_url,
        **overrides,
    )


def signed_post(app, path: str, params: dict[str, str], bare: bool = False):
    """POST to a webhook (path may carry a query) signed as Twilio would sign it, with the
    AccountSid and To that Twilio sends for this line unless `params` (or `bare`) says."""
    if not bare:
        settings = app.extensions["intake"].settings
        account, to = simulator.account_sid(settings), simulator.line_number(settings)
        params = {"AccountSid": account, "To": to} | params
    headers = {signing.SIGNATURE_HEADER: signing.sign(TOKEN, BASE_URL + path, params)}
    return app.test_client().post(path, data=params, headers=headers)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
def clock() -> SettableClock:
    """A clock that stands still until the test moves it: a test that asks for it gets its
    `app` (and `line`) on this clock, so time moves only when the test says so."""
    return SettableClock()


def _test_clock(request):
    """The test's settable clock when it asks for one (directly or by `usefixtures`)."""
    return request.getfixturevalue("clock") if "clock" in request.fixturenames else None


@pytest.fixture
def make_app():
    """create_app for a test's own settings; each app's database is disposed after the
    test, which also ends its settling thread (a broken database's spool retries)."""
    made = []

    def make(settings: Settings):
        made.append(create_app(settings))
        return made[-1]

    yield make
    for app in made:
        app.extensions["intake"].db.dispose()


@pytest.fixture
def app(request, settings):
    made_clock = _test_clock(request)
    app = create_app(settings) if made_clock is None else create_app(settings, made_clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["intake"].db.dispose()


@pytest.fixture
def line(app):
    """The running line of the app under test."""
    return app.extensions["intake"]


@pytest.fixture
def transport(settings):
    """The real twilio client, sending to the fake Twilio the settings point at."""
    from intake.infra.transport import TwilioTransport

    return TwilioTransport(settings, timeout=2.0)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Phone:
    """A caregiver's phone: every text goes through the signed webhook, like Twilio's."""

    app: object
    settings: Settings
    number: str = CALLER
    sent: list[dict] = field(default_factory=list)

    def post(self, params: dict[str, str], path: str = simulator.SMS_PATH, signature=None):
        headers = simulator.signed_headers(self.settings, path, params)
        if signature is not None:
            headers = {"X-Twilio-Signature": signature} if signature else {}
        return self.app.test_client().post(path, data=params, headers=headers)

    def text(self, body: str = "", media: list[str] | None = None, **extra) -> list[str]:
        """Send a text and return the bodies of the reply."""
        params = simulator.sms_params(self.number, body, media, self.settings)
        params.update(extra)
        self.sent.append(params)
        response = self.post(params)
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "text/xml"
        return simulator.message_bodies(response.get_data(as_text=True))

    def reply(self, body: str = "", media: list[str] | None = None, **extra) -> str:
        """The single text the line answers with."""
        replies = self.text(body, media, **extra)
        assert len(replies) == 1, replies
        return replies[0]


@pytest.fixture
def phone(app, settings) -> Phone:
    return Phone(app, settings)


@pytest.fixture(params=DATABASES)
def empty_db_url(request, tmp_path) -> str:
    """A database of each kind that nobody has migrated: a new SQLite file, a new PostgreSQL
    database (created for this test and dropped after it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = make_url(POSTGRES_URL)
    name = f"intake_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
