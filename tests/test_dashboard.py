"""The staff dashboard through Flask's test client, on each database: signing in, the
gates on every view, CSRF, the security headers, and every action on a case going
through the same services as the SMS commands (and into the audit log)."""

from __future__ import annotations

import base64
import logging
import shutil
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text

from intake.app import create_app
from intake.cli import main as cli
from intake.core.models import (
    Alert,
    AuditEntry,
    Case,
    CaseNote,
    OnCallPerson,
    Outbound,
    SignInThrottle,
    StaffAccount,
    StaffSession,
)
from intake.staff import accounts, casefile, caselist, signin
from intake.web.dashboard import keep_whole
from tests.conftest import ACCOUNT, LINE_NUMBER, TOKEN, Phone, make_settings
from tests.dashboard_helpers import (
    ADMIN,
    ANA,
    PASSWORD,
    VIEWER,
    WORKER,
    add_to_roster,
    case_ref,
    csrf,
    make_account,
    post,
    seed,
    sign_in,
)
from tests.test_sms_webhook import intake

PAGES = ["/dashboard/", "/dashboard/cases/rows", "/dashboard/cases/ACDEFG"]
PAGES += ["/dashboard/cases/ACDEFG/live", "/dashboard/cases/ACDEFG/media/1"]
ADMIN_PAGES = ["/dashboard/roster", "/dashboard/audit"]
ACTIONS = ["take", "note", "text", "found", "close", "pause", "resume"]


@pytest.fixture
def worker(app, line, client):
    """Ana: on the roster, with a staff account linked by her number, signed in."""
    add_to_roster(line)
    make_account(line, WORKER, phone=ANA)
    assert sign_in(client, WORKER).status_code == 302
    return client


def audit_actions(line) -> list[tuple[str, str | None]]:
    with line.db.sessions() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.action, e.case.ref if e.case else None) for e in entries]


def the_case(line) -> Case:
    with line.db.sessions() as s:
        return s.scalars(select(Case).order_by(Case.id.desc())).first()


@pytest.mark.parametrize("path", PAGES + ADMIN_PAGES)
def test_nothing_under_dashboard_shows_without_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/dashboard/sign-in?next=")


@pytest.mark.parametrize("action", ACTIONS)
def test_no_action_runs_without_sign_in(client, action):
    token = csrf(client)
    response = client.post(f"/dashboard/cases/ACDEFG/{action}", data={"csrf_token": token})
    assert response.status_code == 302 and "/dashboard/sign-in" in response.location


def test_the_alert_link_leads_through_sign_in_to_the_case(app, line, client, phone):
    intake(phone)
    ref = case_ref(line)
    make_account(line, VIEWER)
    first = client.get(f"/cases/{ref.lower()}")
    assert first.status_code == 302 and first.location == f"/dashboard/cases/{ref}"
    gate = client.get(first.location)
    assert gate.status_code == 302
    sign_in_page = client.get(gate.location).get_data(as_text=True)
    assert ref in sign_in_page and "Mia Lopez" not in sign_in_page  # only the way back, no data
    signed = sign_in(client, VIEWER, next_=f"/dashboard/cases/{ref}")
    assert signed.status_code == 302 and signed.location == f"/dashboard/cases/{ref}"
    page = client.get(signed.location).get_data(as_text=True)
    assert "Mia Lopez" in page and "Elm Park, Springfield" in page
    assert "red coat" in page and "my daughter is missing" in page  # answers and transcript
    assert client.get("/cases/not-a-ref").status_code == 404


def test_after_sign_in_only_a_dashboard_page_on_this_site_is_a_destination(line, client):
    make_account(line, VIEWER)
    for elsewhere in ("https://evil.example/", "//evil.example/dashboard", "/healthz"):
        assert sign_in(client, VIEWER, next_=elsewhere).location == "/dashboard/"


def test_a_wrong_password_is_refused_logged_and_names_no_address(line, client, caplog):
    make_account(line, VIEWER)
    with caplog.at_level(logging.INFO, logger="intake"):
        wrong = sign_in(client, VIEWER, "not the password")
        unknown = sign_in(client, "nobody@example.org", PASSWORD)
    assert wrong.status_code == 401 and unknown.status_code == 401
    said = "do not match an account"
    assert said in wrong.get_data(as_text=True) and said in unknown.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302
    logged = [r for r in caplog.records if r.getMessage() == "staff.signin_failed"]
    assert len(logged) == 2
    assert "example.org" not in caplog.text and "not the password" not in caplog.text
    assert audit_actions(line) == [("signin_failed", None)]  # for the known account only


TEST_CLIENT = signin.Attempt(email="", network="127.0.0.1")  # the test client's source


def set_tries(line, email: str, failures: int, last_checked_at: datetime) -> None:
    """As if this many tries had come for the address from the test client's network."""
    with line.db.transaction() as s:
        s.execute(delete(SignInThrottle))
        s.add(
            SignInThrottle(
                address_hash=signin.address_key(email),
                source=TEST_CLIENT.source(None),
                failures=failures,
                last_checked_at=last_checked_at,
            )
        )


def test_repeated_failures_make_the_address_wait_even_for_the_right_password(line, client):
    make_account(line, VIEWER)
    set_tries(line, VIEWER, 9, line.clock.now())
    refused = sign_in(client, VIEWER)
    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    set_tries(line, VIEWER, 9, line.clock.now() - timedelta(hours=1))
    assert sign_in(client, VIEWER).status_code == 302


def test_the_wait_after_failures_doubles_and_is_capped(line):
    make_account(line, VIEWER)
    start = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    viewer = replace(TEST_CLIENT, email=VIEWER)

    def check(password: str, when: datetime) -> signin.SignIn:
        return signin.check_password(line.db, viewer, password, when)

    for _ in range(signin.FREE_FAILURES):
        assert check("wrong", start).problem == "wrong"
    assert check(PASSWORD, start).problem == "wait"  # counted: the next wait doubles
    later = start + signin.FIRST_WAIT * 2
    assert check("wrong", later).problem == "wrong"
    assert check(PASSWORD, later + signin.FIRST_WAIT * 3).problem == "wait"  # 8 s now
    set_tries(line, VIEWER, 40, later)
    assert check(PASSWORD, later + signin.MAX_WAIT - timedelta(seconds=1)).problem == "wait"
    assert check(PASSWORD, later + signin.MAX_WAIT).account  # capped at MAX_WAIT


def test_an_address_with_no_account_is_slowed_like_one_with_an_account(line):
    """Otherwise "wait" would tell an attacker which addresses have accounts."""
    start = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    stranger = replace(TEST_CLIENT, email=f"nobody-{uuid.uuid4().hex[:8]}@example.org")

    def check(attempt: signin.Attempt, when: datetime) -> signin.SignIn:
        return signin.check_password(line.db, attempt, PASSWORD, when)

    for _ in range(signin.FREE_FAILURES):
        assert check(stranger, start).problem == "wrong"
    slowed = check(replace(stranger, email=stranger.email.upper()), start)
    assert slowed.problem == "wait" and slowed.wait == signin.FIRST_WAIT
    assert check(stranger, start + signin.FIRST_WAIT * 2).problem == "wrong"


def test_a_form_without_its_csrf_token_is_refused(line, client):
    make_account(line, VIEWER)
    form = {"email": VIEWER, "password": PASSWORD}
    assert client.post("/dashboard/sign-in", data=form).status_code == 400
    assert client.get("/dashboard/").status_code == 302
    assert sign_in(client, VIEWER).status_code == 302
    assert client.post("/dashboard/sign-out").status_code == 400
    assert client.get("/dashboard/").status_code == 200


def test_signing_out_ends_the_session(line, client):
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    assert post(client, "/dashboard/sign-out", "/dashboard/").status_code == 302
    assert client.get("/dashboard/").status_code == 302
    assert ("signed_out", None) in audit_actions(line)


def session_cookie(response) -> str:
    """The Set-Cookie of Flask's session (the known-device cookie comes too)."""
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def set_signed_in_since(line, ago: timedelta) -> None:
    """As if the browser's session had begun `ago` before now."""
    with line.db.transaction() as s:
        for row in s.scalars(select(StaffSession)):
            row.expires_at = row.created_at - ago + (row.expires_at - row.created_at)
            row.created_at -= ago


def test_a_session_ends_with_the_browser_and_after_a_night(line, client):
    make_account(line, VIEWER)
    cookie = session_cookie(sign_in(client, VIEWER))
    assert "Expires" not in cookie  # a browser-session cookie
    set_signed_in_since(line, timedelta(hours=11))
    assert client.get("/dashboard/").status_code == 200
    set_signed_in_since(line, timedelta(hours=13))
    assert client.get("/dashboard/").status_code == 302


def test_keep_me_signed_in_lasts_30_days(line, client):
    make_account(line, VIEWER)
    cookie = session_cookie(sign_in(client, VIEWER, remember=True))
    assert "Expires" in cookie
    set_signed_in_since(line, timedelta(days=29))
    assert client.get("/dashboard/").status_code == 200
    set_signed_in_since(line, timedelta(days=31))
    assert client.get("/dashboard/").status_code == 302


def test_a_new_password_signs_out_every_device(line, client):
    make_account(line, VIEWER)
    sign_in(client, VIEWER, remember=True)
    with line.db.transaction() as s:
        accounts.set_password(s, VIEWER, "another long password", line.clock.now())
    assert client.get("/dashboard/").status_code == 302


def test_passwords_are_stored_as_scrypt_hashes(line):
    make_account(line, VIEWER)
    with line.db.sessions() as s:
        stored = s.scalar(select(StaffAccount.password_hash))
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_cookies_and_headers(line, client):
    make_account(line, VIEWER)
    cookie = session_cookie(sign_in(client, VIEWER))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # local mode: plain http on a laptop
    page = client.get("/dashboard/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_outside_local_mode_the_cookie_is_secure_and_forms_work_over_https(db_url, tmp_path):
    settings = make_settings(
        db_url,
        tmp_path,
        twilio_account_sid="AC" + "7" * 32,
        twilio_phone_number="+12125550100",
    )
    app = create_app(settings)
    try:
        line = app.extensions["intake"]
        make_account(line, VIEWER)
        app.config["PREFERRED_URL_SCHEME"] = "https"  # the test client's requests use it
        client = app.test_client()
        page = client.get("/dashboard/sign-in")
        assert page.headers["Referrer-Policy"] == "same-origin"  # so the form below says where
        form = {"email": VIEWER, "password": PASSWORD, "csrf_token": csrf(client)}
        assert client.post("/dashboard/sign-in", data=form).status_code == 400  # no referrer
        referrer = {"Referer": "https://localhost/dashboard/sign-in"}
        signed = client.post("/dashboard/sign-in", data=form, headers=referrer)
        assert signed.status_code == 302
        cookie = session_cookie(signed)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert client.get("/dashboard/").status_code == 200
    finally:
        app.extensions["intake"].db.dispose()


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_staff_get_403_on_admin_pages_and_admins_see_them(line, client, path):
    make_account(line, VIEWER)
    make_account(line, ADMIN, admin=True)
    sign_in(client, VIEWER)
    assert client.get(path).status_code == 403
    token = csrf(client, "/dashboard/")
    added = client.post("/dashboard/roster/add", data={"csrf_token": token, "name": "X"})
    assert added.status_code == 403
    post(client, "/dashboard/sign-out", "/dashboard/")
    sign_in(client, ADMIN)
    assert client.get(path).status_code == 200


def test_the_list_shows_open_cases_first_with_an_unacknowledged_marker(app, line, client, phone):
    add_to_roster(line)
    intake(phone)  # an open case, paged to Ana, not acknowledged
    first = case_ref(line)
    with line.db.transaction() as s:
        s.scalars(select(Case)).one().status = "closed"
    phone.text("my son is missing")  # a new intake under way
    second = case_ref(line)
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    rows = client.get("/dashboard/cases/rows").get_data(as_text=True)
    assert rows.index(second) < rows.index(first)
    assert "Mia Lopez" not in rows  # no names in the list
    with line.db.transaction() as s:
        s.scalars(select(Case).where(Case.ref == first)).one().status = "open"
    rows = client.get("/dashboard/cases/rows").get_data(as_text=True)
    assert "Not acknowledged" in rows and "7" in rows and "ago" in rows
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-poll="/dashboard/cases/rows"' in page


def test_viewing_a_case_is_audited_and_the_log_is_for_admins(app, line, client, phone):
    intake(phone)
    ref = case_ref(line)
    make_account(line, ADMIN, admin=True)
    sign_in(client, ADMIN)
    client.get(f"/dashboard/cases/{ref}")
    assert ("case_viewed", ref) in audit_actions(line)
    log = client.get("/dashboard/audit").get_data(as_text=True)
    assert "case_viewed" in log and ref in log and "Admin" in log


def test_take_is_ack_the_escalation_stops(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    taken = post(worker, f"/dashboard/cases/{ref}/take", f"/dashboard/cases/{ref}")
    assert taken.status_code == 302
    page = worker.get(taken.location).get_data(as_text=True)
    assert f"Case {ref} is yours" in page
    with line.db.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        assert alert.status == "acked" and alert.acked_by.phone == ANA
        assert s.scalars(select(Case)).one().assigned_person.phone == ANA
    assert ("take", ref) in audit_actions(line)


def test_an_account_without_a_roster_number_cannot_take_or_text(app, line, client, phone):
    intake(phone)
    ref = case_ref(line)
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    page = client.get(f"/dashboard/cases/{ref}").get_data(as_text=True)
    assert "Take this case" not in page and "no roster phone number" in page
    assert "<code>intake staff set-phone EMAIL PHONE</code>" in page  # the command that links
    refused = post(client, f"/dashboard/cases/{ref}/take", f"/dashboard/cases/{ref}")
    assert refused.status_code == 409
    assert the_case(line).assigned_person_id is None


def test_a_note_is_kept_encrypted_and_shown(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    posted = post(
        worker, f"/dashboard/cases/{ref}/note", "/dashboard/", note="Grandma <b>called</b>"
    )
    assert posted.status_code == 302
    live = worker.get(f"/dashboard/cases/{ref}/live").get_data(as_text=True)
    assert "Grandma &lt;b&gt;called&lt;/b&gt;" in live
    with line.db.sessions() as s:
        raw = s.execute(text("SELECT body FROM case_notes")).scalar()
        assert "Grandma" not in raw and s.scalars(select(CaseNote)).one().body.startswith("Grandma")
    empty = post(worker, f"/dashboard/cases/{ref}/note", "/dashboard/", note="   ")
    assert empty.status_code == 400


def test_texting_the_caregiver_is_r_only_for_the_worker_who_has_the_case(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    page = f"/dashboard/cases/{ref}"
    refused = post(worker, f"{page}/text", page, message="Hello")
    assert "not assigned to you" in worker.get(refused.location).get_data(as_text=True)
    post(worker, f"{page}/take", page)
    post(worker, f"{page}/text", page, message="I am calling you in 2 minutes")
    with line.db.sessions() as s:
        relay = s.scalars(select(Outbound).where(Outbound.kind == "relay")).one()
        assert relay.to_phone == phone.number
        assert relay.params["text"] == "I am calling you in 2 minutes"
    with line.db.sessions() as s:
        details = s.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "text_caregiver")
            .order_by(AuditEntry.id)
        )
        assert list(details) == ["refused: nothing sent", ""]


def test_mark_found_runs_what_found_runs(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    page = f"/dashboard/cases/{ref}"
    post(worker, f"{page}/take", page)
    post(worker, f"{page}/found", page)
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "found" and case.found_at is not None
        followups = s.scalars(select(Outbound).where(Outbound.kind == "followup")).all()
        assert followups and {f.status for f in followups} == {"cancelled"}
        told = s.scalars(select(Outbound).where(Outbound.to_phone == ANA)).all()
        assert any(row.template == "staff:stood_down" for row in told)
    again = post(worker, f"{page}/found", page)
    assert "cannot be marked found" in worker.get(again.location).get_data(as_text=True)


def test_close_stops_everything(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    page = f"/dashboard/cases/{ref}"
    post(worker, f"{page}/close", page)
    with line.db.sessions() as s:
        assert s.scalars(select(Case)).one().status == "closed"
        assert s.scalars(select(Alert)).one().status == "stood_down"
        pending = s.scalars(select(Outbound).where(Outbound.kind == "followup")).all()
        assert {f.status for f in pending} == {"cancelled"}
    assert "Mark found" not in worker.get(page).get_data(as_text=True)


def test_follow_ups_pause_and_resume(app, line, phone, worker):
    intake(phone)
    ref = case_ref(line)
    page = f"/dashboard/cases/{ref}"

    def statuses():
        with line.db.sessions() as s:
            rows = s.scalars(select(Outbound).where(Outbound.kind == "followup")).all()
            return {row.status for row in rows}

    assert statuses() == {"pending"} and "Pause follow-ups" in worker.get(page).get_data(True)
    post(worker, f"{page}/pause", page)
    assert statuses() == {"cancelled"} and "Resume follow-ups" in worker.get(page).get_data(True)
    phone.text("START")  # the caregiver's START resumes only what their STOP cancelled
    assert statuses() == {"cancelled"}
    post(worker, f"{page}/resume", page)
    assert statuses() == {"pending"}
    assert [a for a, _ in audit_actions(line) if "followups" in a] == [
        "pause_followups",
        "resume_followups",
    ]


def test_what_a_caller_typed_is_shown_escaped(app, line, client, phone):
    phone.text("my daughter is missing")
    phone.text("yes")
    phone.text('<script>alert("x")</script><img src=x onerror=alert(1)>')
    ref = case_ref(line)
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    page = client.get(f"/dashboard/cases/{ref}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_a_simulated_photo_is_shown_as_text_never_fetched(app, line, client, phone):
    intake(phone)  # sends a photo; this line has no Twilio credentials (local mode)
    ref = case_ref(line)
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    page = client.get(f"/dashboard/cases/{ref}").get_data(as_text=True)
    assert "<img" not in page and "not fetched" in page
    with line.db.sessions() as s:
        media_id = s.scalar(text("SELECT id FROM case_media"))
    fetched = client.get(f"/dashboard/cases/{ref}/media/{media_id}")
    assert fetched.status_code == 502 and b"not a file of this Twilio account" in fetched.data


def test_admins_edit_the_roster_with_the_clis_rules(app, line, client):
    make_account(line, ADMIN, admin=True)
    sign_in(client, ADMIN)
    roster = "/dashboard/roster"
    post(client, f"{roster}/add", roster, name="Ana", phone="(212) 555-0111")
    added = post(
        client,
        f"{roster}/add",
        roster,
        name="Ben",
        phone="+12125550122",
        by="call",
        windows="weekdays 17:00-09:00\nweekends all day",
    )
    assert added.status_code == 302
    bad = post(client, f"{roster}/add", roster, name="Cy", phone="555-1234")
    assert bad.status_code == 400 and "is not a phone number that can be dialled" in bad.get_data(
        as_text=True
    )
    bad_window = post(
        client, f"{roster}/add", roster, name="Cy", phone="+12125550133", windows="at night"
    )
    assert bad_window.status_code == 400
    with line.db.sessions() as s:
        people = {p.name: p for p in s.scalars(select(OnCallPerson))}
    assert set(people) == {"Ana", "Ben"}
    assert people["Ben"].windows == ["mon-fri 17:00-09:00", "sat,sun all day"]
    post(client, f"{roster}/{people['Ben'].id}/move", roster, position="1")
    post(client, f"{roster}/{people['Ana'].id}/windows", roster, windows="mon 09:00-17:00")
    post(client, f"{roster}/{people['Ben'].id}/remove", roster)
    with line.db.sessions() as s:
        listed = {p.name: p for p in s.scalars(select(OnCallPerson))}
    assert listed["Ana"].windows == ["mon 09:00-17:00"] and not listed["Ben"].active
    page = client.get(roster).get_data(as_text=True)
    assert "Ana" in page and "Remove Ben" not in page
    actions = [a for a, _ in audit_actions(line) if a.startswith("roster_")]
    assert actions == ["roster_add", "roster_add", "roster_move", "roster_windows", "roster_remove"]


class MediaHost(BaseHTTPRequestHandler):
    """Twilio's media host, as far as a photo goes: the file, only with the account's key."""

    key = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()

    def do_GET(self):  # noqa: N802 - the name http.server calls
        if self.headers.get("Authorization") != self.key:
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        self.wfile.write(JPEG)

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass


JPEG = b"\xff\xd8\xff\xe0 a child's photo"


@pytest.fixture
def media_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), MediaHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_a_photo_is_fetched_with_the_accounts_key_for_signed_in_staff_only(
    db_url, tmp_path, media_host
):
    settings = make_settings(
        db_url,
        tmp_path,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
        twilio_api_base_url=media_host,
    )
    app = create_app(settings)
    line = app.extensions["intake"]
    try:
        phone = Phone(app, settings)
        photo = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1"
        elsewhere = "https://example.org/tracker.jpg"
        phone.text("my daughter is missing")
        phone.text("", media=[photo])
        phone.text("", media=[elsewhere])
        ref = case_ref(line)
        with line.db.sessions() as s:
            ids = list(s.scalars(text("SELECT id FROM case_media ORDER BY id")))
        client = app.test_client()
        assert client.get(f"/dashboard/cases/{ref}/media/{ids[0]}").status_code == 302
        make_account(line, VIEWER)
        sign_in(client, VIEWER)
        page = client.get(f"/dashboard/cases/{ref}").get_data(as_text=True)
        assert f'src="/dashboard/cases/{ref}/media/{ids[0]}"' in page
        assert "api.twilio.com" not in page  # never a link to Twilio itself
        got = client.get(f"/dashboard/cases/{ref}/media/{ids[0]}")
        assert got.status_code == 200 and got.data == JPEG and got.mimetype == "image/jpeg"
        assert client.get(f"/dashboard/cases/{ref}/media/{ids[1]}").status_code == 502
        assert client.get(f"/dashboard/cases/ACDEFG/media/{ids[0]}").status_code == 404
        assert ("media_viewed", ref) in audit_actions(line)
    finally:
        line.db.dispose()


def test_staff_accounts_from_the_command_line(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "intake.db")  # INTAKE_INSTANCE_DIR's database
    runner = CliRunner(env={"INTAKE_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": ""})

    def intake_cli(*args: str, typed: str = ""):
        return runner.invoke(cli.main, list(args), input=typed)

    add = ["staff", "add", "--email", "Ana@Example.org", "--name", "Ana Ruiz", "--admin"]
    added = intake_cli(*add, typed=f"{PASSWORD}\n{PASSWORD}\n")  # asked twice, hidden
    assert added.exit_code == 0, added.output
    assert "admin Ana Ruiz <ana@example.org>" in added.output and PASSWORD not in added.output
    again = intake_cli(*add, "--password-stdin", typed=PASSWORD + "\n")
    assert again.exit_code != 0 and "already has an account" in again.output
    short = ["staff", "add", "--email", "b@example.org", "--name", "B", "--password-stdin"]
    refused = intake_cli(*short, typed="short\n")
    assert refused.exit_code == 1 and "at least 12 characters" in refused.output
    new = ["staff", "password", "--email", "ana@example.org", "--password-stdin"]
    assert intake_cli(*new, typed="another long password\n").exit_code == 0
    removed = intake_cli("staff", "remove", "--email", "ANA@example.org")
    assert removed.exit_code == 0 and "can no longer sign in" in removed.output
    nobody = intake_cli("staff", "remove", "--email", "x@example.org")
    assert nobody.exit_code == 1 and "no account for x@example.org" in nobody.output


def test_a_removed_account_is_signed_out_at_its_next_request(line, client):
    make_account(line, VIEWER)
    sign_in(client, VIEWER, remember=True)
    assert client.get("/dashboard/sign-in").location == "/dashboard/"  # already signed in
    with line.db.transaction() as s:
        accounts.deactivate(s, VIEWER, line.clock.now())
    assert client.get("/dashboard/").status_code == 302
    assert sign_in(client, VIEWER).status_code == 401


def test_take_over_is_offered_when_someone_else_has_the_case(app, line, phone, worker):
    add_to_roster(line, "Ben", "+12125550122")
    intake(phone)
    ref = case_ref(line)
    with line.db.transaction() as s:
        ben = s.scalars(select(OnCallPerson).where(OnCallPerson.name == "Ben")).one()
        s.scalars(select(Case)).one().assigned_person = ben
        s.scalars(select(Alert)).one().status = "acked"
    page = f"/dashboard/cases/{ref}"
    assert "Take over from Ben" in worker.get(page).get_data(as_text=True)
    kept = post(worker, f"{page}/take", page)
    assert "Ben has case" in worker.get(kept.location).get_data(as_text=True)
    post(worker, f"{page}/take", page, over="1")
    with line.db.sessions() as s:
        assert s.scalars(select(Case)).one().assigned_person.phone == ANA
        told = s.scalars(select(Outbound).where(Outbound.to_phone == "+12125550122")).all()
        assert any(row.template == "staff:taken_over" for row in told)


def test_the_list_and_its_refresh_share_one_order_most_urgent_first(line, client):
    finished = seed(line, "closed", 50, alert="acked")
    found = seed(line, "found", 40, alert="acked")  # found later: shown first of the two
    old_open = seed(line, "open", 30, alert="acked")
    new_open = seed(line, "open", 2, alert="acked")
    stopped = seed(line, "abandoned", 5)
    under_way = seed(line, "intake", 0.2)
    waiting_old = seed(line, "open", 3, alert="open")
    waiting_new = seed(line, "intake", 1, alert="exhausted")  # everyone paged, nobody took it
    order = [waiting_old, waiting_new, old_open, new_open, under_way, stopped, found, finished]
    with line.db.sessions() as s:
        sections = caselist.case_list(s, line.settings.zone, line.clock.now())
    assert [r.ref for part in sections for r in part.rows] == order
    assert [part.key for part in sections] == ["waiting", "open", "intake", "stopped", "finished"]
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    for path in ("/dashboard/", "/dashboard/cases/rows"):  # the page and its refresh
        shown = client.get(path).get_data(as_text=True)
        assert sorted(order, key=shown.index) == order
    assert "stopped part-way" in shown


def test_last_seen_in_the_callers_words_says_when_they_said_it(line, phone):
    for answer in ["my daughter is missing", "yes", "Mia Lopez", "seven", "around 9pm"]:
        phone.text(answer)
    zone = line.settings.zone
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        told = case.last_seen_told_at
        assert case.last_seen_at is None and told is not None
        same_day = caselist.last_seen_text(case, zone, told)
        next_day = caselist.last_seen_text(case, zone, told + timedelta(days=1))
        rows = dict(casefile.answers(case, zone, told, "US"))
    assert same_day == f"told at {told.astimezone(zone):%H:%M %Z}, around 9pm"
    assert next_day == f"told at {told.astimezone(zone):%Y-%m-%d %H:%M %Z}, around 9pm"
    assert "When, in the caller's words" not in rows  # said once, with its time


def test_the_callback_number_is_a_tel_link_written_as_read(app, line, client, phone):
    intake(phone)
    ref = case_ref(line)
    make_account(line, VIEWER)
    sign_in(client, VIEWER)
    page = client.get(f"/dashboard/cases/{ref}").get_data(as_text=True)
    assert f'<a class="tel" href="tel:{phone.number}">' in page
    national = casefile.phone_link(phone.number, "US").shown
    assert national.startswith("(") and f">{national}</a>" in page
    abroad = casefile.phone_link("+525512345678", "US")
    assert (abroad.href, abroad.shown) == ("tel:+525512345678", "+52 55 1234 5678")
    assert casefile.phone_link("BrightPath", "US") == "BrightPath"  # a sender id: no link


def test_numbers_and_links_in_texts_are_kept_whole_and_escaped():
    shown = keep_whole('<b>Call 1-800-THE-LOST</b> & "see" https://x.org/c/A?b=1&c=2')
    assert shown == (
        '&lt;b&gt;Call <span class="whole">1-800-THE-LOST</span>&lt;/b&gt; &amp; '
        '&#34;see&#34; <span class="whole">https://x.org/c/A?b=1&amp;c=2</span>'
    )


def test_removing_someone_from_the_roster_asks_first(line, client):
    add_to_roster(line)
    make_account(line, ADMIN, admin=True)
    sign_in(client, ADMIN)
    page = client.get("/dashboard/roster").get_data(as_text=True)
    asks = 'data-confirm="Remove Ana from the on-call roster? Their open cases are alerted again."'
    assert asks in page
    assert f'<a class="tel" href="tel:{ANA}">(212) 555-0111</a>' in page  # a tap calls Ana
