"""GET /healthz: 200 only when the line can take a text, 503 with the reason otherwise.
GET /metrics: Prometheus figures, only with INTAKE_METRICS_TOKEN as a bearer token."""

import hmac

from flask import Blueprint, Response, abort, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from intake.core.line import current_line
from intake.infra.migrate import readiness
from intake.oncall import roster
from intake.web import metrics

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


@bp.get("/metrics")
def prometheus():
    """The figures for an operator's Prometheus; off (404) unless a token is set."""
    line = current_line()
    token = line.settings.metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        abort(401)
    return Response(metrics.exposition(line), mimetype=CONTENT_TYPE_LATEST)
