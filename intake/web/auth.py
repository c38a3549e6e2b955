"""Signing in to the dashboard: who is signed in, the gates on views, the second step,
the account pages, and the headers every page carries.

A signed-in browser is a server-side session (staff_sessions.start_session): Flask's signed
cookie carries only its random token, so signing out, a new password or an admin's "sign
out everywhere" ends it for every copy of the cookie. Without "keep me signed in" the
cookie ends with the browser and the session after staff_sessions.SHORT_SESSION; with it,
after staff_sessions.REMEMBER_FOR.

A browser that signed in before keeps a signed "known device" cookie (devices.DEVICE_COOKIE):
its tries are counted apart from everyone else's, so someone guessing a worker's
password from elsewhere cannot make that worker's own phone wait.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

import segno
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

from intake.core import audit
from intake.core.line import current_line, request_now
from intake.core.models import StaffAccount
from intake.staff import accounts, signin, twostep
from intake.staff import sessions as staff_sessions
from intake.web import devices

bp = Blueprint("auth", __name__, url_prefix="/dashboard")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PENDING_FOR = timedelta(minutes=5)  # from the right password to the code


def init_app(app: Flask, local: bool) -> None:
    """Cookies, CSRF and security headers for every page; `local`: no Twilio (plain HTTP
    on a laptop), where a Secure cookie would never be sent back."""
    app.config.update(
        SESSION_COOKIE_SECURE=not local,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=staff_sessions.REMEMBER_FOR,
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


# --- who is signed in ---------------------------------------------------------------------


def current_staff() -> StaffAccount | None:
    """The signed-in account, or None (not signed in, ended, expired, or an admin who has
    still to set up two-step sign-in)."""
    account = _session_account()
    return None if account is None or needs_two_step(account) else account


def needs_two_step(account: StaffAccount) -> bool:
    """Admins must have two-step sign-in before they see anything."""
    return account.is_admin and not account.has_two_step


def _session_account() -> StaffAccount | None:
    """The account of this browser's session, whatever its two-step state."""
    if "session_account" not in g:
        token = session.get("token")
        account = None
        if isinstance(token, str):
            account = staff_sessions.session_account(current_line().db, token, request_now())
            if account is None:
                session.clear()
        g.session_account = account
    return g.session_account


def login_required(view):
    """Signed-out visitors go to the sign-in page, and come back here after; an admin
    without two-step sign-in goes to set it up."""

    @wraps(view)
    def gated(*args, **kwargs):
        if current_staff() is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    return gated


def admin_required(view):
    """Admins only: signed-out visitors go to sign in; staff get 403."""

    @wraps(view)
    def gated(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return _to_sign_in()
        if not staff.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return gated


def _to_sign_in():
    account = _session_account()
    if account is not None and needs_two_step(account):
        return redirect(url_for("auth.two_step"))
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard page on this site, nowhere else (and no
    character a Location header cannot carry)."""
    target = target or ""
    parts = urlsplit(target)
    plain = target.isprintable() and not any(ch.isspace() or ch == "\\" for ch in target)
    local = plain and not parts.scheme and not parts.netloc
    if local and parts.path.startswith("/dashboard") and not parts.path.startswith("//"):
        return target
    return url_for("dashboard.cases")


# --- signing in: the password, then (if set up) the code -----------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(target)
        return render_template("dashboard/sign_in.html", next=target)
    attempt = _attempt(request.form.get("email", ""))
    remember = request.form.get("remember") == "on"
    result = signin.check_password(
        current_line().db, attempt, request.form.get("password", ""), request_now()
    )
    if result.problem == "code":
        _end_older_session()
        session.clear()  # nothing from before is kept (no session fixation)
        session["pending"] = {
            "account": result.tried.id,
            "remember": remember,
            "at": request_now().timestamp(),
            "next": target,
        }
        return redirect(url_for("auth.sign_in_code"))
    if result.account is None:
        return _refused(result, "dashboard/sign_in.html", next=target)
    return _signed_in(result.account, attempt, remember, target)


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code():
    """The second step: a code from the person's app, or one of their recovery codes."""
    pending = _pending()
    if pending is None:
        flash("Sign in again: the code was not typed in time.")
        return redirect(url_for("auth.sign_in"))
    if request.method == "GET":
        return render_template("dashboard/sign_in_code.html")
    attempt = _attempt("")
    result = signin.check_code(
        current_line().db, attempt, pending["account"], request.form.get("code", ""), request_now()
    )
    if result.account is None:
        return _refused(result, "dashboard/sign_in_code.html")
    return _signed_in(result.account, attempt, pending["remember"], pending["next"])


def _pending() -> dict | None:
    """The sign-in waiting for its code, if its password was right moments ago."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int | float):
        return None
    if request_now() - datetime.fromtimestamp(pending["at"], UTC) > PENDING_FOR:
        session.pop("pending", None)
        return None
    return pending


def _attempt(email: str) -> signin.Attempt:
    device, known = devices.known_device()
    return signin.Attempt(
        email=email, network=devices.network(), device=device, device_accounts=known
    )


def _refused(result: signin.SignIn, template: str, **context):
    if result.tried is not None:  # admins see an account being guessed at
        action = "signin_slowed" if result.problem == "wait" else "signin_failed"
        with current_line().db.transaction() as db:
            audit.record(db, result.tried, action)
    code_step = template == "dashboard/sign_in_code.html"
    if result.problem == "wait":
        seconds = math.ceil(result.wait.total_seconds())
        tries = "codes" if code_step else "passwords"
        flash(f"Too many wrong {tries}. Wait {seconds} seconds, then try again.")
        return render_template(template, **context), 429
    if code_step:
        flash("That code is not right, or was used before. Type the newest code.")
    else:
        flash("That email address and password do not match an account.")
    return render_template(template, **context), 401


def _signed_in(account: StaffAccount, attempt: signin.Attempt, remember: bool, target: str):
    """The whole sign-in succeeded: a new session, this browser known from now on."""
    _end_older_session()
    with current_line().db.transaction() as db:
        now = request_now()
        signin.signed_in(db, attempt, account, now)
        token = staff_sessions.start_session(db, account, remember, devices.user_agent(), now)
        audit.record(db, account, "signed_in")
    session.clear()  # nothing from before signing in is kept (no session fixation)
    session["token"] = token
    session.permanent = remember  # else the cookie ends with the browser
    g.session_account = account
    devices.remember_device(account, attempt.device)
    if needs_two_step(account):
        return redirect(url_for("auth.two_step"))
    return redirect(target)


def _end_older_session() -> None:
    """A sign-in over an older one in this browser ends the older one for good."""
    token = session.get("token")
    if isinstance(token, str):
        with current_line().db.transaction() as db:
            staff_sessions.end_session(db, token, request_now())


# --- signing out --------------------------------------------------------------------------


@bp.post("/sign-out")
def sign_out():
    account, token = _session_account(), session.get("token")
    if account is not None and isinstance(token, str):
        with current_line().db.transaction() as db:
            staff_sessions.end_session(db, token, request_now())
            audit.record(db, account, "signed_out")
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.sign_in"))


# --- two-step sign-in and the account pages -----------------------------------------------


@bp.route("/account/two-step", methods=["GET", "POST"])
def two_step():
    """Set up two-step sign-in: scan the QR code, type the first code, keep the recovery
    codes (shown this once)."""
    me = _session_account()
    if me is None:
        return _to_sign_in()
    line = current_line()
    with line.db.transaction() as db:
        account = db.get(StaffAccount, me.id)
        if account.has_two_step:
            return redirect(url_for("auth.account_page"))
        if account.totp_secret is None:
            twostep.begin_two_step(db, account)
        codes, problem = None, None
        if request.method == "POST":
            code = request.form.get("code", "")
            codes = twostep.confirm_two_step(db, account, code, request_now())
            problem = None if codes else "That code is not right. Type the newest code."
            if codes:
                audit.record(db, account, "two_step_on")
        secret, link = account.totp_secret, twostep.app_link(account, line.settings.org_name)
    g.session_account = account
    if codes:
        return render_template("dashboard/recovery_codes.html", codes=codes)
    return render_template(
        "dashboard/two_step.html",
        required=needs_two_step(account),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr=segno.make(link, error="m").svg_data_uri(scale=5, border=2),
        problem=problem,
    ), (400 if problem else 200)


@bp.get("/account")
@login_required
def account_page():
    """Your own account: two-step sign-in and where you are signed in."""
    me = current_staff()
    with current_line().db.sessions() as db:
        return render_template(
            "dashboard/account.html",
            account=me,
            sessions=staff_sessions.open_sessions(db, me, request_now()),
            recovery_left=twostep.recovery_left(db, me),
            zone=current_line().settings.zone,
        )


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere_mine():
    """End every session of your own account (this one too): a phone was lost."""
    me = current_staff()
    with current_line().db.transaction() as db:
        count = staff_sessions.end_sessions(db, me, request_now())
        audit.record(db, me, "sessions_ended", detail=f"account {me.id}: {count}")
    session.clear()
    flash(f"You are signed out everywhere ({count} sessions).")
    return redirect(url_for("auth.sign_in"))


@bp.get("/staff")
@admin_required
def staff_page():
    """Admins: every account, its two-step state, its tries and its open sessions."""
    now = request_now()
    with current_line().db.sessions() as db:
        people = [
            (account, staff_sessions.open_sessions(db, account, now))
            for account in accounts.everyone(db)
        ]
        return render_template(
            "dashboard/staff.html", people=people, zone=current_line().settings.zone
        )


@bp.post("/staff/<int:account_id>/sign-out-everywhere")
@admin_required
def sign_out_everywhere(account_id: int):
    """An admin ends every session of an account (a phone lost, a cookie copied)."""
    me = current_staff()
    with current_line().db.transaction() as db:
        account = db.get(StaffAccount, account_id)
        if account is None:
            abort(404)
        count = staff_sessions.end_sessions(db, account, request_now())
        audit.record(db, me, "sessions_ended", detail=f"account {account.id}: {count}")
        name = account.name
    flash(f"{name} is signed out everywhere ({count} sessions).")
    if account_id == me.id:
        session.clear()
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("auth.staff_page"))
