"""The address itself: `/` leads to the page a person opening it wants (the phone
simulator in local mode, the dashboard otherwise), and browsers find the line's icon."""

from pathlib import Path

from flask import Blueprint, redirect, send_from_directory, url_for

from intake.core.line import current_line

bp = Blueprint("home", __name__)
STATIC = Path(__file__).parent / "static" / "home"


@bp.get("/")
def home():
    local = not current_line().settings.uses_twilio
    return redirect(url_for("simulator.page" if local else "dashboard.cases"))


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(STATIC, "favicon.ico", mimetype="image/x-icon", max_age=86400)
