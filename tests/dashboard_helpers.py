"""Helpers for the dashboard tests: accounts, signing in through the real forms (with the
code from the account's authenticator app where it has one), a case."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import func, select

from intake.cases import lifecycle as cases
from intake.core.models import Alert, Caller, Case, StaffAccount
from intake.oncall import roster
from intake.staff import accounts, twostep

PASSWORD = "correct horse battery"
ADMIN, WORKER, VIEWER = "admin@example.org", "ana@example.org", "viewer@example.org"
ANA = "+12125550111"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE_PAGE = "/dashboard/sign-in/code"
RECOVERY: dict[str, list[str]] = {}  # each two-step account's recovery codes, by address


def make_account(line, email: str, admin: bool = False, phone: str | None = None) -> int:
    """An account; an admin's with two-step sign-in on, as admins must have it."""
    with line.db.transaction() as s:
        name = email.split("@")[0].title()
        account = accounts.add(s, email, name, PASSWORD, admin=admin, phone=phone)
        if admin:
            turn_on_two_step(s, account, line.clock.now())
        return account.id


def turn_on_two_step(s, account: StaffAccount, now: datetime) -> list[str]:
    """What the set-up page does at `now`, with the code an app would show then."""
    secret = twostep.begin_two_step(s, account)
    codes = twostep.confirm_two_step(s, account, pyotp.TOTP(secret).at(now), now)
    RECOVERY[account.email] = codes
    return codes


def app_code(line, email: str) -> str:
    """The code the person's app shows: now's, or the next step's if now's was used (no
    code works twice; the line takes 30 s either side), by the line's clock."""
    now = line.clock.now()
    with line.db.transaction() as s:
        account = accounts.by_email(s, email)
        totp = pyotp.TOTP(account.totp_secret)
        step = totp.timecode(now)
        if account.totp_last_step is not None and account.totp_last_step >= step + 1:
            account.totp_last_step = step - 2  # a test signing in many times in 30 s
        step = max(step - 1, (account.totp_last_step or 0) + 1)
        return totp.generate_otp(step)


def add_to_roster(line, name: str = "Ana", phone: str = ANA) -> None:
    with line.db.transaction() as s:
        roster.add(s, name, phone)


def csrf(client, path: str = "/dashboard/sign-in") -> str:
    page = client.get(path, follow_redirects=True)
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, email: str, password: str = PASSWORD, remember: bool = False, next_=None):
    """The sign-in form; then, if the account asks for it, the code form."""
    form = {"email": email, "password": password, "csrf_token": csrf(client)}
    if remember:
        form["remember"] = "on"
    if next_:
        form["next"] = next_
    answer = client.post("/dashboard/sign-in", data=form)
    if answer.status_code == 302 and answer.location == CODE_PAGE:
        return send_code(client, app_code(client.application.extensions["intake"], email))
    return answer


def send_code(client, code: str):
    return client.post(CODE_PAGE, data={"code": code, "csrf_token": csrf(client, CODE_PAGE)})


def post(client, path: str, page: str, **form):
    """A form on `page` posted the way a browser would, with the page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client, page), **form})


def case_ref(line) -> str:
    with line.db.sessions() as s:
        return s.scalars(select(Case.ref).order_by(Case.id.desc())).first()


def seed(line, status: str, hours_ago: float, alert: str | None = None) -> str:
    """A case of this status opened `hours_ago`, with an alert ("open" or "acked") or
    none; its reference is returned."""
    opened = line.clock.now() - timedelta(hours=hours_ago)
    with line.db.transaction() as s:
        count = s.scalar(select(func.count(Case.id)))
        caller = Caller(phone=f"+1212555{count:04d}")
        case = Case(
            ref=cases.new_ref(), caller=caller, status=status, channel="sms", created_at=opened
        )
        case.age_months = 12 * (4 + count % 11)
        if status != "intake":
            case.last_seen_at, case.last_seen_when = opened - timedelta(hours=1), "an hour ago"
        if status == "found":
            case.found_at = opened + timedelta(hours=1)
        s.add(case)
        if alert:
            s.flush()
            s.add(Alert(case_id=case.id, reason="intake", status=alert, created_at=opened))
        return case.ref
