"""/cases/<ref>: where alert links point. Until the signed-in dashboard exists it shows
no case data at all (not even whether the case exists), only how to work it by text."""

from flask import Blueprint, abort, render_template

from intake.cases import REF_ALPHABET, REF_LENGTH
from intake.line import current_line

bp = Blueprint("cases", __name__)


@bp.get("/cases/<ref>")
def case_page(ref: str):
    ref = ref.upper()
    if len(ref) != REF_LENGTH or any(ch not in REF_ALPHABET for ch in ref):
        abort(404)
    org = current_line().settings.org_name
    return render_template("dashboard/case_placeholder.html", ref=ref, org=org)
