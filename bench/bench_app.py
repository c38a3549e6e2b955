"""The WSGI app `make bench` runs under gunicorn: the line itself, plus one bare route.

The bare route (/bench/bare) goes through the same app, settings and request checks as
/twilio/sms and answers a fixed TwiML reply without touching the database: what the web
stack alone costs a text, the yardstick the line is measured against.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Blueprint, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.app import create_app  # noqa: E402
from intake.channels.twiml import sms_twiml  # noqa: E402
from intake.web.twilio import inbound_text  # noqa: E402

BARE_PATH = "/bench/bare"
FIXED = sms_twiml(["Thank you. Call 911 now."])

bare = Blueprint("bench", __name__)


@bare.post(BARE_PATH)
@inbound_text  # the same checks as /twilio/sms
def bare_route():
    return Response(FIXED, mimetype="text/xml")


app = create_app()
app.extensions["csrf"].exempt(bare)
app.register_blueprint(bare)
