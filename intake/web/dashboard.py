"""/dashboard: staff see and work the cases (signed in; see intake/web/auth.py).

Views are thin: they read through caselist.py and casefile.py and act through the SMS
commands' own services (staff.take = ACK, staff.text_caregiver = R, cases.found_by_staff =
FOUND, cases.close, followups.pause/unpause, roster.*). Every view and action is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from intake.cases import followups
from intake.cases import lifecycle as cases
from intake.channels import media
from intake.core import audit
from intake.core.line import current_line, request_now
from intake.core.models import Case, CaseMedia, StaffAccount
from intake.domain.enums import CaseStatus
from intake.oncall import roster
from intake.staff import casefile, caselist, notes
from intake.staff import commands as staff
from intake.staff.accounts import roster_person
from intake.web.auth import admin_required, current_staff, login_required

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    static_folder="static/dashboard",
    static_url_path="/static",
)

BINARY = "application/octet-stream"  # anything else (an SVG could carry script): downloaded
# A link, or a phone number as texts write them (1-800-THE-LOST, (212) 555-0147,
# +12125550147): kept whole on screen. simulator.js keeps the same pattern (WHOLE).
WHOLE = re.compile(r"https?://\S+|\+?\(?\d{1,4}\)?(?:[-. ]?\(?[0-9A-Z]{2,}\)?){2,}")
# an action's work returns what to tell the user, and optionally a word for the audit log
Action = Callable[[Session, Case, StaffAccount], str | tuple[str, str]]


@bp.app_context_processor
def _signed_in():
    return {"me": current_staff(), "org": current_line().settings.org_name}


@bp.app_template_filter("whole")
def keep_whole(text: str) -> Markup:
    """Escaped text, each link and phone number in it a span that does not break in the
    middle ("1-" at a line's end, "800-THE-LOST" on the next)."""
    parts, start = [], 0
    for match in WHOLE.finditer(text or ""):
        parts.append(escape(text[start : match.start()]))
        parts.append(Markup('<span class="whole">%s</span>') % match.group(0))
        start = match.end()
    parts.append(escape((text or "")[start:]))
    return Markup("").join(parts)


@bp.app_template_filter("phone")
def phone(raw: str) -> casefile.PhoneLink | str:
    """A stored number, ready for a tel: link and written as people read it."""
    return casefile.phone_link(raw, _region())


@bp.get("/", endpoint="cases")
@login_required
def case_list():
    return render_template("dashboard/cases.html", sections=_sections())


@bp.get("/cases/rows")
@login_required
def case_rows():
    """The list alone, fetched every few seconds by the page: the same sections in the
    same order as the page (caselist.case_list)."""
    return render_template("dashboard/_case_rows.html", sections=_sections())


def _sections():
    line = current_line()
    with line.db.sessions() as db:
        return caselist.case_list(db, line.settings.zone, request_now())


@bp.get("/cases/<ref>")
@login_required
def case_page(ref: str):
    line, me, now = current_line(), current_staff(), request_now()
    with line.db.transaction() as db:  # kept short: a write on SQLite holds every writer
        audit.record(db, me, "case_viewed", _case(db, ref), now=now)
    with line.db.sessions() as db:
        case = _case(db, ref)
        return render_template(
            "dashboard/case.html",
            case=case,
            answers=casefile.answers(case, line.settings.zone, now, _region()),
            callback=casefile.callback(case, _region()),
            photos=casefile.photos(case),
            voicemails=casefile.voicemails(case),
            fetchable=lambda item: media.fetchable(line.settings, item.url),
            followups=casefile.followup_state(db, case, now),
            person=roster_person(db, me),
            is_open=CaseStatus(case.status).is_workable,  # its actions: take, find, close
            still_missing=[
                (i, (case.children or [])[i].get("name")) for i in cases.still_missing(case)
            ],
            unacknowledged=bool(caselist.unacknowledged(db, [case.id])),
            **_live(db, case),
        )


@bp.get("/cases/<ref>/live")
@login_required
def case_live(ref: str):
    """The transcript and timeline alone, fetched every few seconds by the case page."""
    with current_line().db.sessions() as db:
        return render_template("dashboard/_case_live.html", **_live(db, _case(db, ref)))


def _live(db: Session, case: Case) -> dict:
    zone = current_line().settings.zone
    return {
        "transcript": casefile.transcript(db, case, zone),
        "timeline": casefile.timeline(db, case, zone),
    }


@bp.get("/cases/<ref>/media/<int:media_id>")
@login_required
def case_media(ref: str, media_id: int):
    """A photo or voicemail, fetched from Twilio for a signed-in person, never linked."""
    line = current_line()
    with line.db.transaction() as db:
        case = _case(db, ref)
        item = db.get(CaseMedia, media_id)
        if item is None or item.case_id != case.id:
            abort(404)
        audit.record(db, current_staff(), "media_viewed", case, detail=f"media {item.id}")
        url = item.url
    try:
        fetched = media.fetch(line.settings, url)
    except media.MediaError as error:
        return Response(f"The file could not be fetched: {error}.", 502, mimetype="text/plain")
    shown = fetched.content_type in media.SHOWN_TYPES or fetched.content_type.startswith("audio/")
    response = Response(fetched.content, mimetype=fetched.content_type if shown else BINARY)
    response.headers["Content-Disposition"] = "inline" if shown else "attachment"
    return response


def _case(db: Session, ref: str) -> Case:
    case = cases.by_ref(db, ref)
    if case is None:
        abort(404)
    return case


def _act(ref: str, action: str, work: Action):
    """Run one action on a case in one transaction, audit it, and say what came of it."""
    me = current_staff()
    with current_line().db.transaction() as db:
        case = _case(db, ref)
        db.refresh(case, with_for_update=True)
        said = work(db, case, me)
        said, detail = said if isinstance(said, tuple) else (said, "")
        audit.record(db, me, action, case, detail=detail)
        ref = case.ref
    flash(said)
    return redirect(url_for(".case_page", ref=ref))


@bp.post("/cases/<ref>/take")
@login_required
def take(ref: str):
    """Take the case: what ACK does (the escalation stops, the caregiver's texts follow)."""

    def work(db, case, me):
        person = _person(db, me)
        taken = staff.take(
            db, current_line(), person, case, request_now(), take_over="over" in request.form
        )
        return _taken_words(taken)

    return _act(ref, "take", work)


def _person(db: Session, me: StaffAccount):
    person = roster_person(db, me)
    if person is None:
        abort(409, "Your account is not linked to a number on the on-call roster.")
    return person


def _taken_words(taken: staff.Taken) -> str:
    ref = taken.case.ref
    if taken.outcome == "taken":
        number = casefile.phone_link(taken.callback or "", _region())
        return f"Case {ref} is yours. Call the caregiver on {number}."
    if taken.outcome == "taken_by_other":
        return f'{taken.who} has case {ref}. Use "Take over" if you are taking it from them.'
    return f"Case {ref} is {staff.status_text(taken.case)}: nothing to take."


@bp.post("/cases/<ref>/note")
@login_required
def note(ref: str):
    def work(db, case, me):
        try:
            notes.add(db, case, me, request.form.get("note", ""), request_now())
        except notes.NoteError as error:
            abort(400, str(error))
        return "Note added."

    return _act(ref, "note", work)


@bp.post("/cases/<ref>/text")
@login_required
def text_caregiver(ref: str):
    """Text the caregiver from the line's number: what R <ref> does."""

    def work(db, case, me):
        message = " ".join(request.form.get("message", "").split())
        if not message:
            abort(400, "The text is empty.")
        said, sent = staff.text_caregiver(db, _person(db, me), case, message, request_now())
        return said, "" if sent else "refused: nothing sent"

    return _act(ref, "text_caregiver", work)


@bp.post("/cases/<ref>/found")
@login_required
def found(ref: str):
    """The child is found: what the caregiver's FOUND does."""

    def work(db, case, me):
        which = request.form.get("child", "all")
        missing = cases.still_missing(case)
        if len(missing) > 1 and which != "all":  # one child of several: only that one
            if not which.isdigit() or int(which) not in missing:
                abort(400, "No such child on this case.")
            name = (case.children or [])[int(which)].get("name") or "The child"
            cases.child_found(db, case, int(which), request_now())
            return f"{name} is marked found. Case {case.ref} stays open for the others."
        if cases.found_by_staff(db, case, request_now()):
            return f"Case {case.ref} is marked found. The follow-ups have stopped{_told(case)}."
        return f"Case {case.ref} is {staff.status_text(case)}: it cannot be marked found."

    return _act(ref, "found", work)


def _told(case: Case) -> str:
    """Whether the caregiver hears of it by text, in the words of a flash message."""
    if followups.can_take_texts(case.caller):
        return ", and the caregiver is told by text"
    return "; the caregiver cannot get texts, so call them"


@bp.post("/cases/<ref>/close")
@login_required
def close(ref: str):
    def work(db, case, me):
        if case.status not in cases.WORKABLE:
            return f"Case {case.ref} is already {staff.status_text(case)}."
        cases.close(db, case, request_now())
        return f"Case {case.ref} is closed{_told(case)}. Nothing more is sent for it."

    return _act(ref, "close", work)


@bp.post("/cases/<ref>/pause")
@login_required
def pause(ref: str):
    def work(db, case, me):
        count = followups.pause(db, case)
        return f"{count} follow-up texts are paused." if count else "No follow-ups were due."

    return _act(ref, "pause_followups", work)


@bp.post("/cases/<ref>/resume")
@login_required
def resume(ref: str):
    def work(db, case, me):
        count = followups.unpause(db, case, request_now())
        return f"{count} follow-up texts will go out again." if count else "Nothing to resume."

    return _act(ref, "resume_followups", work)


@bp.get("/roster")
@admin_required
def roster_page(problem: str | None = None, status: int = 200):
    line = current_line()
    with line.db.sessions() as db:
        now = request_now()
        on_call = {p.id for p in roster.chain(db, now, line.settings.zone)}
        members = roster.members(db)
    return render_template(
        "dashboard/roster.html", members=members, on_call=on_call, problem=problem
    ), status


def _roster_change(action: str, change: Callable[[Session], str]):
    """One roster change through roster.py (the CLI's rules), audited; a refused one is
    shown on the page with 400 and changes nothing."""
    try:
        with current_line().db.transaction() as db:
            said = change(db)
            audit.record(db, current_staff(), action)
    except roster.RosterError as error:
        return roster_page(problem=str(error), status=400)
    flash(said)
    return redirect(url_for(".roster_page"))


def _windows() -> list[str]:
    return [w for w in request.form.get("windows", "").splitlines() if w.strip()]


def _region() -> str:
    return current_line().settings.default_region


@bp.post("/roster/add")
@admin_required
def roster_add():
    form = request.form

    def change(db):
        person = roster.add(
            db,
            form.get("name", ""),
            form.get("phone", ""),
            form.get("by", "sms"),
            _windows(),
            _region(),
        )
        return f"Added {person.name} at place {person.position}."

    return _roster_change("roster_add", change)


@bp.post("/roster/<int:person_id>/remove")
@admin_required
def roster_remove(person_id: int):
    def change(db):
        person = staff.leave_roster(db, current_line(), _member(db, person_id).phone, request_now())
        return f"Removed {person.name}. Their open cases are alerted again."

    return _roster_change("roster_remove", change)


@bp.post("/roster/<int:person_id>/move")
@admin_required
def roster_move(person_id: int):
    def change(db):
        place = request.form.get("position", "")
        if not place.isdigit() or int(place) < 1:
            raise roster.RosterError("the place must be a whole number, 1 or more")
        person = roster.move(db, _member(db, person_id).phone, int(place), _region())
        return f"{person.name} is now at place {person.position}."

    return _roster_change("roster_move", change)


@bp.post("/roster/<int:person_id>/windows")
@admin_required
def roster_windows(person_id: int):
    def change(db):
        person = roster.set_windows(db, _member(db, person_id).phone, _windows(), _region())
        when = "; ".join(person.windows) or "always"
        return f"{person.name} is on call: {when}."

    return _roster_change("roster_windows", change)


def _member(db: Session, person_id: int):
    person = next((p for p in roster.members(db) if p.id == person_id), None)
    if person is None:
        raise roster.RosterError("that person is no longer on the roster")
    return person


@bp.get("/audit")
@admin_required
def audit_page():
    with current_line().db.sessions() as db:
        entries = audit.newest(db)
        return render_template(
            "dashboard/audit.html", entries=entries, zone=current_line().settings.zone
        )
