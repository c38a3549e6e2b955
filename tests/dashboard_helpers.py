"""Helpers for the dashboard tests: accounts, signing in through the real form, a case."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from intake import accounts, cases, roster
from intake.models import Alert, Caller, Case, utcnow

PASSWORD = "correct horse battery"
ADMIN, WORKER, VIEWER = "admin@example.org", "ana@example.org", "viewer@example.org"
ANA = "+12125550111"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_account(line, email: str, admin: bool = False, phone: str | None = None) -> int:
    with line.db.transaction() as s:
        name = email.split("@")[0].title()
        return accounts.add(s, email, name, PASSWORD, admin=admin, phone=phone).id


def add_to_roster(line, name: str = "Ana", phone: str = ANA) -> None:
    with line.db.transaction() as s:
        roster.add(s, name, phone)


def csrf(client, path: str = "/dashboard/sign-in") -> str:
    page = client.get(path, follow_redirects=True)
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, email: str, password: str = PASSWORD, remember: bool = False, next_=None):
    form = {"email": email, "password": password, "csrf_token": csrf(client)}
    if remember:
        form["remember"] = "on"
    if next_:
        form["next"] = next_
    return client.post("/dashboard/sign-in", data=form)


def post(client, path: str, page: str, **form):
    """A form on `page` posted the way a browser would, with the page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client, page), **form})


def case_ref(line) -> str:
    with line.db.sessions() as s:
        return s.scalars(select(Case.ref).order_by(Case.id.desc())).first()


def seed(line, status: str, hours_ago: float, alert: str | None = None) -> str:
    """A case of this status opened `hours_ago`, with an alert ("open" or "acked") or
    none; its reference is returned."""
    opened = utcnow() - timedelta(hours=hours_ago)
    with line.db.transaction() as s:
        count = s.scalar(select(func.count(Case.id)))
        caller = Caller(phone=f"+1212555{count:04d}")
        case = Case(ref=cases.new_ref(), caller=caller, status=status, created_at=opened)
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
