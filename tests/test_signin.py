"""Signing in, on each database: tries sent in parallel are each counted and at most one is
checked per wait; someone guessing elsewhere cannot keep a worker's own phone out; a copied
session cookie dies at sign-out, a new password and "sign out everywhere"; two-step sign-in
with an app's codes and one-time recovery codes; `intake staff reset-2fa`; a next= that
no Location header can carry."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from intake.cli import main as cli
from intake.core.models import RecoveryCode, StaffSession
from intake.staff import accounts, signin, twostep
from intake.web import devices
from tests.dashboard_helpers import (
    ADMIN,
    PASSWORD,
    RECOVERY,
    VIEWER,
    WORKER,
    app_code,
    csrf,
    make_account,
    post,
    send_code,
    sign_in,
)

BURST = 16
ATTACKER = "203.0.113.9"  # the network a guesser comes from (nginx's X-Forwarded-For)


def burst(app, email: str, password: str = "not the password") -> list[int]:
    """BURST browsers post the sign-in form at the same moment, from real threads."""
    clients = [app.test_client() for _ in range(BURST)]
    forms = [{"email": email, "password": password, "csrf_token": csrf(c)} for c in clients]
    start, answers = threading.Barrier(BURST), [0] * BURST

    def post_form(i: int) -> None:
        start.wait()
        answers[i] = clients[i].post("/dashboard/sign-in", data=forms[i]).status_code

    threads = [threading.Thread(target=post_form, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def failed_signins(line, email: str) -> int:
    with line.db.sessions() as s:
        return accounts.by_email(s, email).failed_signins


def tries(line, email: str, network: str = "127.0.0.1") -> int:
    with line.db.sessions() as s:
        return signin.tries(s, email, f"net:{network}")[0]


def test_tries_sent_in_parallel_are_each_counted_and_one_is_checked_per_wait(app, line, clock):
    make_account(line, VIEWER)
    free = signin.FREE_FAILURES
    assert burst(app, VIEWER) == [401] * free + [429] * (BURST - free)
    assert failed_signins(line, VIEWER) == BURST and tries(line, VIEWER) == BURST
    clock.advance(signin.MAX_WAIT)  # the longest wait is over: one try, and the window shuts
    assert burst(app, VIEWER) == [401] + [429] * (BURST - 1)
    assert failed_signins(line, VIEWER) == 2 * BURST and tries(line, VIEWER) == 2 * BURST
    clock.advance(signin.MAX_WAIT)
    assert sign_in(app.test_client(), VIEWER).status_code == 302  # the right one, in time
    assert failed_signins(line, VIEWER) == 0 and tries(line, VIEWER) == 0


def test_an_address_without_an_account_answers_a_burst_the_same_way(app, line, clock):
    """Counted in the database like any address, so no answer tells who has an account
    (and every process of the line sees the same count)."""
    make_account(line, VIEWER)
    nobody = "nobody@example.org"
    assert burst(app, nobody) == burst(app, VIEWER)
    assert tries(line, nobody) == tries(line, VIEWER) == BURST
    clock.advance(signin.MAX_WAIT)
    assert burst(app, nobody) == burst(app, VIEWER) == [401] + [429] * (BURST - 1)


def test_someone_guessing_elsewhere_cannot_keep_a_worker_off_the_dashboard(app, line, clock):
    make_account(line, WORKER)
    phone = app.test_client()  # the worker's phone, which signed in before
    assert sign_in(phone, WORKER).status_code == 302
    post(phone, "/dashboard/sign-out", "/dashboard/")
    guesser = app.test_client()
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = ATTACKER
    guesser.set_cookie(devices.DEVICE_COOKIE, "forged.cookie")  # not signed by the line: ignored
    refused = [sign_in(guesser, WORKER, "guess").status_code for _ in range(12)]
    assert refused.count(401) == signin.FREE_FAILURES and refused[-1] == 429
    clock.advance(signin.MAX_WAIT - timedelta(minutes=1))
    assert sign_in(guesser, WORKER, "guess").status_code == 429  # the guesser keeps waiting
    assert sign_in(guesser, WORKER).status_code == 429  # even with the right password
    phone.environ_base["HTTP_X_FORWARDED_FOR"] = ATTACKER  # the same café's wifi, even
    assert sign_in(phone, WORKER).status_code == 302  # the worker is in
    elsewhere = app.test_client()
    elsewhere.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    assert sign_in(elsewhere, WORKER).status_code == 302  # a new phone on another network
    assert failed_signins(line, WORKER) == 0


def copy_of(app, client):
    """Another browser holding a copy of this one's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/dashboard/").status_code == 200
    return thief


def test_a_copied_session_cookie_dies_at_sign_out(app, line):
    make_account(line, VIEWER)
    browser = app.test_client()
    sign_in(browser, VIEWER, remember=True)
    thief = copy_of(app, browser)
    post(browser, "/dashboard/sign-out", "/dashboard/")
    assert thief.get("/dashboard/").status_code == 302
    with browser.session_transaction() as kept:
        assert "token" not in kept
    with line.db.sessions() as s:
        assert s.scalars(select(StaffSession.ended_at)).one() is not None


def test_a_copied_session_cookie_dies_with_a_new_password(app, line):
    make_account(line, VIEWER)
    browser = app.test_client()
    sign_in(browser, VIEWER, remember=True)
    thief = copy_of(app, browser)
    with line.db.transaction() as s:
        accounts.set_password(s, VIEWER, "another long password", line.clock.now())
    assert thief.get("/dashboard/").status_code == 302
    assert browser.get("/dashboard/").status_code == 302


def test_an_admin_signs_an_account_out_everywhere_from_the_staff_page(app, line):
    make_account(line, WORKER)
    make_account(line, ADMIN, admin=True)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
    )
    sign_in(phone, WORKER)
    thief = copy_of(app, phone)
    admin = app.test_client()
    assert sign_in(admin, ADMIN).status_code == 302
    staff_page = admin.get("/dashboard/staff").get_data(as_text=True)
    worker_part = staff_page[staff_page.index("Ana") :]
    assert "1 open session" in worker_part and "Firefox on Android" in worker_part
    with line.db.sessions() as s:
        worker_id = accounts.by_email(s, WORKER).id
        tokens = s.scalars(select(StaffSession.id)).all()
    with phone.session_transaction() as kept:
        assert kept["token"] not in tokens  # only a hash of it is stored
    ended = post(admin, f"/dashboard/staff/{worker_id}/sign-out-everywhere", "/dashboard/staff")
    assert ended.status_code == 302
    assert thief.get("/dashboard/").status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    assert admin.get("/dashboard/").status_code == 200  # the admin's own session goes on
    assert "0 open sessions" in admin.get("/dashboard/staff").get_data(as_text=True)
    assert phone.get("/dashboard/staff").status_code == 302
    assert sign_in(app.test_client(), WORKER).status_code == 302  # they can sign in again


def test_staff_cannot_see_the_staff_page_or_sign_others_out(app, line):
    make_account(line, VIEWER)
    admin_id = make_account(line, ADMIN, admin=True)
    browser = app.test_client()
    sign_in(browser, VIEWER)
    assert browser.get("/dashboard/staff").status_code == 403
    url = f"/dashboard/staff/{admin_id}/sign-out-everywhere"
    assert post(browser, url, "/dashboard/").status_code == 403


SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
CODES = re.compile(r"<li><code>([a-z0-9-]{14})</code></li>")


def set_up_two_step(client) -> tuple[str, list[str]]:
    """What a person does on the set-up page: scan (here: read the key), type a code."""
    page = client.get("/dashboard/account/two-step").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, an image (no script)
    secret = SECRET.search(page).group(1).replace(" ", "")
    wrong = post(client, "/dashboard/account/two-step", "/dashboard/account/two-step", code="1")
    assert wrong.status_code == 400
    shown = post(
        client,
        "/dashboard/account/two-step",
        "/dashboard/account/two-step",
        code=pyotp.TOTP(secret).now(),
    ).get_data(as_text=True)
    return secret, CODES.findall(shown)


def test_an_admin_without_two_step_sign_in_must_set_it_up_first(app, line):
    with line.db.transaction() as s:
        accounts.add(s, ADMIN, "Admin", PASSWORD, admin=True)
    browser = app.test_client()
    signed = sign_in(browser, ADMIN)
    assert signed.location == "/dashboard/account/two-step"
    for page in ("/dashboard/", "/dashboard/roster", "/dashboard/audit", "/dashboard/staff"):
        assert browser.get(page).location == "/dashboard/account/two-step"
    secret, codes = set_up_two_step(browser)
    assert len(codes) == twostep.RECOVERY_CODES
    assert browser.get("/dashboard/roster").status_code == 200
    with line.db.sessions() as s:
        stored = s.scalars(select(RecoveryCode.code_hash)).all()
        assert not set(stored) & {c.replace("-", "") for c in codes}  # kept as hashes
        raw = s.execute(text("SELECT totp_secret FROM staff_accounts")).scalar()
    assert secret not in str(raw)  # the app's key is encrypted like the children's data


def test_two_step_sign_in_with_the_apps_code_and_recovery_codes(app, line, clock):
    make_account(line, VIEWER)
    browser = app.test_client()
    sign_in(browser, VIEWER)
    assert "Set up two-step sign-in" in browser.get("/dashboard/account").get_data(as_text=True)
    secret, codes = set_up_two_step(browser)  # settable by anyone, not only admins
    post(browser, "/dashboard/sign-out", "/dashboard/")

    def password_step(client):
        form = {"email": VIEWER, "password": PASSWORD, "csrf_token": csrf(client)}
        answer = client.post("/dashboard/sign-in", data=form)
        assert answer.location == "/dashboard/sign-in/code"
        assert client.get("/dashboard/").status_code == 302  # not signed in yet

    password_step(browser)
    assert send_code(browser, "000000").status_code == 401
    clock.advance(timedelta(seconds=30))  # the code used at set-up is spent: the next one
    code = pyotp.TOTP(secret).at(clock.now())
    assert send_code(browser, code).status_code == 302
    assert browser.get("/dashboard/").status_code == 200
    other = app.test_client()
    password_step(other)
    assert send_code(other, code).status_code == 401  # no code works twice
    assert send_code(other, codes[0].upper()).status_code == 302  # a recovery code, once
    third = app.test_client()
    password_step(third)
    assert send_code(third, codes[0]).status_code == 401
    assert send_code(third, codes[1].replace("-", "")).status_code == 302
    with line.db.sessions() as s:
        assert twostep.recovery_left(s, accounts.by_email(s, VIEWER)) == len(codes) - 2


def test_wrong_codes_are_slowed_like_wrong_passwords(app, line, clock):
    make_account(line, ADMIN, admin=True)
    browser = app.test_client()
    form = {"email": ADMIN, "password": PASSWORD, "csrf_token": csrf(browser)}
    assert browser.post("/dashboard/sign-in", data=form).status_code == 302
    answers = [send_code(browser, "000000").status_code for _ in range(4)]
    assert answers == [401, 401, 429, 429]  # the password's try counts too
    assert send_code(browser, app_code(line, ADMIN)).status_code == 429


def test_reset_2fa_from_the_command_line(app, line, db_url, settings):
    make_account(line, ADMIN, admin=True)
    browser = app.test_client()
    sign_in(browser, ADMIN)
    env = {"DATABASE_URL": db_url, "INTAKE_INSTANCE_DIR": str(settings.instance_dir)}
    runner = CliRunner(env=env)
    reset = runner.invoke(cli.main, ["staff", "reset-2fa", ADMIN.upper()])
    assert reset.exit_code == 0, reset.output
    assert "two-step sign-in is off for admin@example.org" in reset.output
    assert browser.get("/dashboard/").status_code == 302  # the lost phone is signed out
    with line.db.sessions() as s:
        account = accounts.by_email(s, ADMIN)
        assert not account.has_two_step and twostep.recovery_left(s, account) == 0
    again = app.test_client()
    form = {"email": ADMIN, "password": PASSWORD, "csrf_token": csrf(again)}
    signed = again.post("/dashboard/sign-in", data=form)  # no code asked: set up anew
    assert signed.location == "/dashboard/account/two-step"
    assert send_code(again, RECOVERY[ADMIN][0]).status_code == 302  # (back to sign-in)
    assert again.get("/dashboard/").location == "/dashboard/account/two-step"
    nobody = runner.invoke(cli.main, ["staff", "reset-2fa", "x@example.org"])
    assert nobody.exit_code == 1 and "no account for x@example.org" in nobody.output


@pytest.mark.parametrize("bad", ["%0d%0a", "%0d%0aSet-Cookie:%20x=1", "%0a", "%09", "%00"])
def test_a_next_with_a_line_break_is_never_a_500(app, line, client, bad):
    make_account(line, VIEWER)
    target = f"/dashboard/{bad}x"
    page = client.get(f"/dashboard/sign-in?next={target}")
    assert page.status_code == 200
    form = {"email": VIEWER, "password": PASSWORD, "csrf_token": csrf(client), "next": ""}
    signed = client.post(f"/dashboard/sign-in?next={target}", data=form)
    assert signed.status_code == 302 and signed.location == "/dashboard/"
    again = client.get(f"/dashboard/sign-in?next={target}")  # signed in: straight there
    assert again.status_code == 302 and again.location == "/dashboard/"
    post(client, "/dashboard/sign-out", "/dashboard/")
    gate = client.get(f"/dashboard/cases/{bad}")  # the gate keeps the way back, encoded
    assert gate.status_code == 302
    assert client.get(gate.location).status_code == 200


def test_old_tries_and_old_sessions_are_forgotten_at_a_sign_in(app, line, clock):
    make_account(line, VIEWER)
    browser = app.test_client()
    sign_in(browser, VIEWER)
    post(browser, "/dashboard/sign-out", "/dashboard/")
    assert sign_in(app.test_client(), "nobody@example.org").status_code == 401
    clock.advance(signin.FORGET_SESSIONS + timedelta(minutes=1))
    sign_in(app.test_client(), VIEWER)
    with line.db.sessions() as s:
        assert len(s.scalars(select(StaffSession)).all()) == 1  # only the new one
    assert tries(line, "nobody@example.org") == 0


def test_signing_in_again_in_a_browser_ends_its_older_session(app, line):
    make_account(line, VIEWER)
    make_account(line, WORKER)
    browser = app.test_client()
    sign_in(browser, VIEWER)
    thief = copy_of(app, browser)
    sign_in(browser, WORKER)  # a shared phone, handed over
    assert thief.get("/dashboard/").status_code == 302


def test_tries_through_the_proxy_count_for_the_address_nginx_saw(app, line, clock):
    make_account(line, VIEWER)
    guesser = app.test_client()
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.9.9.9, {ATTACKER}"  # nginx adds last
    for _ in range(signin.FREE_FAILURES + 1):
        sign_in(guesser, VIEWER, "guess")
    assert tries(line, VIEWER, ATTACKER) == signin.FREE_FAILURES + 1
    assert tries(line, VIEWER) == 0  # not the proxy's own address
    ipv6 = app.test_client()
    ipv6.environ_base["HTTP_X_FORWARDED_FOR"] = "2001:db8:1:2::77"
    sign_in(ipv6, VIEWER, "guess")
    assert tries(line, VIEWER, "2001:db8:1:2::/64") == 1  # one home's /64 is one source
