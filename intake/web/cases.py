"""/cases/<ref>: where alert links point. It leads to the case's dashboard page, through
the sign-in page for someone not signed in (which says nothing of the case)."""

from flask import Blueprint, abort, redirect, url_for

from intake.cases.lifecycle import REF_ALPHABET, REF_LENGTH

bp = Blueprint("cases", __name__)


@bp.get("/cases/<ref>")
def case_page(ref: str):
    ref = ref.upper()
    if len(ref) != REF_LENGTH or any(ch not in REF_ALPHABET for ch in ref):
        abort(404)
    return redirect(url_for("dashboard.case_page", ref=ref))
