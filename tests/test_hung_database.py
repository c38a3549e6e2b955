"""A hung database: PostgreSQL reachable but not answering (packets held, not refused).

Real gunicorn with 2 sync workers talks to PostgreSQL through a TCP proxy the test
controls. New callers text at a steady rate before, during (packets held for 60 s) and
after the hang. Every first text is answered with the emergency words as fast as Twilio
needs them, nothing accepted before the hang is lost, and no conversation moves on from a
text the caller saw answered from memory. PostgreSQL only (CI sets it), one run.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from intake.channels import fallbacks
from intake.core import words
from intake.core.line import Line
from intake.core.models import Alert, Caller, Case, Message, Outbound
from intake.delivery.dispatcher import dispatch
from intake.infra import crypto, signing
from intake.infra.db import Database
from intake.infra.migrate import upgrade
from intake.infra.transport import TwilioTransport
from intake.simulator import phone as simulator
from tests.conftest import BASE_URL, POSTGRES_URL, TOKEN, postgres_only, twilio_settings
from tests.test_outbox import fill
from tests.test_startup import BIN, ROOT, free_port
from tests.test_worker import wait_for

ORG = "Bright Path Family Services"
BEFORE, HELD, AFTER = 6.0, 60.0, 9.0  # seconds of each phase
EVERY = 1.0  # a new caller texts this often
TWILIO_WAITS = 5.0  # the line's promise (Twilio itself gives up after 15 s)


class HoldingProxy:
    """A TCP proxy that passes bytes, or holds them (sockets stay open, nothing moves)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.passing = threading.Event()
        self.passing.set()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.passing.clear()

    def release(self) -> None:
        self.passing.set()

    def close(self) -> None:
        self.passing.set()
        self.server.close()
        for sock in self.sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Pass `source`'s bytes on; once it ends (closed, or reset by a killed process)
        both sides close, as the server would see on a real network: a killed worker's
        session is never left open in a transaction, holding rows."""
        try:
            while data := source.recv(65536):
                self.passing.wait()  # held: the bytes wait here, the kernel ACKs more
                sink.sendall(data)
        except OSError:
            pass
        self.passing.wait()  # held: even an end waits, as the bytes before it do
        for side in (source, sink):
            try:
                side.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass
class Text:
    """One new caller's first text and what came back."""

    phase: str
    number: str
    sid: str
    answer: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0  # until the answer came


def send(text_: Text, url: str) -> None:
    params = simulator.sms_params(text_.number, "my daughter is missing")
    params.update(MessageSid=text_.sid, SmsSid=text_.sid, SmsMessageSid=text_.sid)
    headers = {signing.SIGNATURE_HEADER: signing.sign(TOKEN, BASE_URL + simulator.SMS_PATH, params)}
    started = time.monotonic()
    try:  # as Twilio would, but waiting only as long as the line promises
        response = requests.post(url, data=params, headers=headers, timeout=TWILIO_WAITS)
        response.raise_for_status()
        text_.answer = simulator.message_bodies(response.text)
    except requests.RequestException as error:
        text_.error = type(error).__name__
    text_.seconds = time.monotonic() - started


@pytest.fixture
def database():
    """A fresh, migrated PostgreSQL database of this test's own."""
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"intake_hung_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name)
    upgrade(url.render_as_string(hide_password=False))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def proxy(database):
    proxy = HoldingProxy((database.host or "127.0.0.1", database.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def line_url(database, proxy, tmp_path: Path):
    """gunicorn with 2 sync workers, its database behind the proxy; its /twilio/sms URL."""
    port = free_port()
    through = database.set(host="127.0.0.1", port=proxy.port)
    env = {
        "PATH": str(BIN),
        "DATABASE_URL": through.render_as_string(hide_password=False),
        "PUBLIC_BASE_URL": BASE_URL,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "INTAKE_ORG_NAME": ORG,
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "INTAKE_DATA_KEYS": crypto.local_key(tmp_path),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    args = [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync"]
    args += ["--bind", f"127.0.0.1:{port}", "wsgi:app"]  # 2 sync workers, whatever the config
    server = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 30)
        yield base + simulator.SMS_PATH
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def emergency_words() -> list[str]:
    """The fallback as the templates word it (what the line answers from memory)."""
    return [words.render("fallback", "en", channel="sms", org=ORG, ref="", child_name="")]


@pytest.mark.parametrize("server", postgres_only())
def test_every_first_text_hears_the_emergency_words_through_a_60_second_hang(
    server, database, proxy, line_url, tmp_path
):
    texts: list[Text] = []
    senders: list[threading.Thread] = []
    started = time.monotonic()
    phases = [("before", BEFORE), ("held", HELD), ("after", AFTER)]
    for phase, seconds in phases:
        if phase == "held":
            proxy.hold()
        if phase == "after":
            proxy.release()
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            sent = Text(phase, f"+1212555{len(texts):04d}", "SM" + uuid.uuid4().hex)
            texts.append(sent)
            senders.append(threading.Thread(target=send, args=(sent, line_url)))
            senders[-1].start()
            time.sleep(EVERY)
    for sender in senders:
        sender.join()
    print(f"\n{len(texts)} first texts in {time.monotonic() - started:.0f} s")
    for phase, _ in phases:
        took = sorted(t.seconds for t in texts if t.phase == phase)
        print(
            f"{phase}: {len(took)} texts, median {took[len(took) // 2]:.2f} s, most {took[-1]:.2f}"
        )

    fallback = emergency_words()
    unanswered = [(t.phase, t.error) for t in texts if t.error]
    assert unanswered == []  # every one answered within TWILIO_WAITS
    for sent in texts:
        assert "1-800-843-5678" in sent.answer[0] and "police" in sent.answer[0], sent
    from_memory = [t for t in texts if t.answer == fallback]
    accepted = [t for t in texts if t.answer != fallback]
    print(f"answered from memory: {len(from_memory)}, by the conversation: {len(accepted)}")
    assert all(t.phase == "held" for t in from_memory)
    assert len(from_memory) >= len([t for t in texts if t.phase == "held"]) - 2  # it did hang
    assert [t for t in accepted if t.phase == "after"], "the line answers again after the hang"

    keys = crypto.key_ring((crypto.local_key(tmp_path),))
    db = Database(database.render_as_string(hide_password=False), keys)
    try:
        # a text answered from memory is stored once the database answers again
        settling = time.monotonic()
        wait_for(lambda: _kept(db, from_memory) == len(from_memory), 60)
        print(f"words kept {time.monotonic() - settling:.1f} s after the last answer")
        with db.sessions() as s:
            stored = {m.twilio_sid: m for m in s.scalars(select(Message))}
            for sent in accepted:  # nothing accepted is lost
                assert stored[sent.sid].reply_twiml, sent
            for sent in from_memory:  # and nothing moved on from a text answered from memory
                caller = s.scalar(select(Caller).where(Caller.phone == sent.number))
                assert caller.state == {}, sent
                kept = stored[sent.sid]
                assert simulator.message_bodies(kept.reply_twiml) == fallback
                assert kept.body == "my daughter is missing" and kept.step is None
                # a person is woken for it: the case the text would have opened, alerted
                cases = s.scalars(select(Case).where(Case.caller_id == caller.id)).all()
                assert [(c.status, c.reported_missing) for c in cases] == [("intake", True)]
                assert kept.case_id == cases[0].id
                alerts = s.scalars(select(Alert.reason).where(Alert.case_id == kept.case_id))
                assert alerts.all() == [fallbacks.FROM_MEMORY], sent
                said = s.scalars(
                    select(Message.id).where(
                        Message.caller_id == caller.id, Message.direction == "out"
                    )
                ).all()
                assert said == [], sent
    finally:
        db.dispose()


def _kept(db: Database, texts: list[Text]) -> int:
    sids = [t.sid for t in texts]
    with db.sessions() as s:
        return len(s.scalars(select(Message.id).where(Message.twilio_sid.in_(sids))).all())


ROWS = 12


@pytest.mark.parametrize("server", postgres_only())
def test_the_worker_keeps_sending_what_it_claimed_while_the_database_hangs(
    server, database, proxy, fake, tmp_path
):
    through = database.set(host="127.0.0.1", port=proxy.port)
    settings = twilio_settings(through.render_as_string(hide_password=False), tmp_path, fake)
    line = Line.build(settings)
    try:
        fill(line, ROWS, line.clock.now())
        fake.delay_next(ROWS, 0.3)  # sends take long enough for the hang to begin mid-batch
        sender = TwilioTransport(settings, 2.0)
        batch = threading.Thread(target=dispatch, args=(line, sender, line.clock.now()))
        batch.start()
        wait_for(lambda: len(fake.messages) >= 2, 30)
        proxy.hold()
        wait_for(lambda: len(fake.messages) == ROWS, 60)  # every claimed row, while held
        proxy.release()
        batch.join(timeout=120)
        with line.db.sessions() as s:
            rows = s.execute(select(Outbound.body, Outbound.status, Outbound.twilio_sid)).all()
        sent = {m["body"]: m["sid"] for m in fake.messages}
        assert len(fake.messages) == ROWS and len(sent) == ROWS  # each once
        assert {(body, status, sid) for body, status, sid in rows} == {
            (body, "sent", sid) for body, sid in sent.items()
        }  # and written down once the database was back
    finally:
        line.db.dispose()
