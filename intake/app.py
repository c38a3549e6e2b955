"""The application factory: settings, database, flow and blueprints, wired once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from flows.engine import Flow
from flows.intake import intake_flow
from intake import logs, words
from intake.config import Settings
from intake.db import Database

MAX_REQUEST_BYTES = 256 * 1024  # Twilio's largest webhook is far below this


@dataclass
class Line:
    """Everything a request needs: settings, the database, the flow, the fallback words."""

    settings: Settings
    db: Database
    flow: Flow
    fallback: dict[str, str]  # the emergency message per language, ready before any request


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.setup(settings.log_level)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder=str(words.TEMPLATES_DIR),
    )
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    line = Line(
        settings=settings,
        db=Database(settings.database_url),
        flow=intake_flow(settings.default_region),
        fallback={lang: _fallback(settings, lang) for lang in words.LANGUAGES},
    )
    app.extensions["intake"] = line
    if settings.fallback_alert_number is None:
        logs.event("config.no_fallback_alert_number", level=30)

    from intake.web import cases, health, twilio, voice

    csrf = CSRFProtect(app)
    csrf.exempt(twilio.bp)  # Twilio signs its requests instead
    csrf.exempt(voice.bp)
    app.register_blueprint(twilio.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(cases.bp)
    return app


def current_line() -> Line:
    return current_app.extensions["intake"]


def _fallback(settings: Settings, lang: str) -> str:
    return words.render("fallback", lang, org=settings.org_name, ref="", child_name="")
