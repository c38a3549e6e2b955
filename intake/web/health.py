"""GET /healthz: 200 only when the line can take a text, 503 with the reason otherwise."""

from flask import Blueprint, jsonify

from intake import roster
from intake.line import current_line
from intake.migrate import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    line = current_line()
    state = readiness(line.db.engine)
    if not state.ready:
        problem = state.problem
        return jsonify(
            status="unavailable", database=state.database, schema=state.schema, problem=problem
        ), 503
    with line.db.sessions() as session:
        nobody = roster.nobody_to_alert(session, line.settings)
    return jsonify(status="ok", database="ok", schema="ok", nobody_to_alert=nobody)
