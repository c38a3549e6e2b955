"""Signing in to the dashboard: who is signed in, the gates on views, and the headers
every page carries.

The session is Flask's signed cookie: the account's id, a stamp that changes with its
password, and when it was signed in. Without "keep me signed in" it ends with the browser
and after SHORT_SESSION at most; with it, after REMEMBER_FOR.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from intake import accounts, audit
from intake.line import current_line
from intake.models import StaffAccount, utcnow

bp = Blueprint("auth", __name__, url_prefix="/dashboard")

SHORT_SESSION = timedelta(hours=12)  # one night's shift
REMEMBER_FOR = timedelta(days=30)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask, local: bool) -> None:
    """Cookies, CSRF and security headers for every page; `local`: no Twilio (plain HTTP
    on a laptop), where a Secure cookie would never be sent back."""
    app.config.update(
        SESSION_COOKIE_SECURE=not local,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=REMEMBER_FOR,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: a page left open
    )
    app.after_request(security_headers)


def security_headers(response):
    """What every answer carries: a strict CSP, no framing, no sniffing, no referrer to
    other sites."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # a case's address never leaves for another site; this site still gets it, as Flask-WTF
    # checks on HTTPS that a form was posted from a page of this site
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/dashboard") and not request.path.startswith("/dashboard/static"):
        response.headers["Cache-Control"] = "no-store"  # children's data on a shared phone
    return response


def current_staff() -> StaffAccount | None:
    """The signed-in account, or None (not signed in, expired, or the account changed)."""
    if "staff" not in g:
        g.staff = _from_session()
    return g.staff


def _from_session() -> StaffAccount | None:
    account_id, since = session.get("staff"), session.get("since")
    if not isinstance(account_id, int) or not isinstance(since, int | float):
        return None
    limit = REMEMBER_FOR if session.get("remember") else SHORT_SESSION
    if datetime.now(UTC) - datetime.fromtimestamp(since, UTC) > limit:
        session.clear()
        return None
    with current_line().db.sessions() as db:
        account = accounts.active(db, account_id)
    if account is None or session.get("stamp") != accounts.session_stamp(account):
        session.clear()
        return None
    return account


def login_required(view):
    """Signed-out visitors go to the sign-in page, and come back here after."""

    @wraps(view)
    def gated(*args, **kwargs):
        if current_staff() is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return gated


def admin_required(view):
    """Admins only: signed-out visitors go to sign in; staff get 403."""

    @wraps(view)
    def gated(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        if not staff.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return gated


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard page on this site, nowhere else."""
    parts = urlsplit(target or "")
    local = not parts.scheme and not parts.netloc and "\\" not in (target or "")
    if local and parts.path.startswith("/dashboard") and not parts.path.startswith("//"):
        return target
    return url_for("dashboard.cases")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(target)
        return render_template("dashboard/sign_in.html", next=target)
    with current_line().db.transaction() as db:
        result = accounts.sign_in(
            db, request.form.get("email", ""), request.form.get("password", ""), utcnow()
        )
        if result.account is not None:
            audit.record(db, result.account, "signed_in")
        elif result.tried is not None:  # admins see an account being guessed at
            action = "signin_slowed" if result.problem == "wait" else "signin_failed"
            audit.record(db, result.tried, action)
    if result.account is None:
        return _refused(result, target)
    _start_session(result.account, remember=request.form.get("remember") == "on")
    return redirect(target)


def _refused(result: accounts.SignIn, target: str):
    if result.problem == "wait":
        seconds = math.ceil(result.wait.total_seconds())
        flash(f"Too many wrong passwords. Wait {seconds} seconds, then try again.")
        code = 429
    else:
        flash("That email address and password do not match an account.")
        code = 401
    return render_template("dashboard/sign_in.html", next=target), code


def _start_session(account: StaffAccount, remember: bool) -> None:
    session.clear()  # nothing from before signing in is kept (no session fixation)
    session.update(
        staff=account.id,
        stamp=accounts.session_stamp(account),
        since=datetime.now(UTC).timestamp(),
        remember=remember,
    )
    session.permanent = remember  # else the cookie ends with the browser
    g.staff = account


@bp.post("/sign-out")
def sign_out():
    staff = current_staff()
    if staff is not None:
        with current_line().db.transaction() as db:
            audit.record(db, staff, "signed_out")
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.sign_in"))
