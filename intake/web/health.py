"""GET /healthz: is the line up, and does its database answer."""

from flask import Blueprint, jsonify

from intake.line import current_line

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    database = current_line().db.ping()
    return jsonify(status="ok", database="ok" if database else "unavailable")
