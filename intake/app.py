"""The application factory: settings, database, flow and blueprints, wired once."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from intake.channels import fallbacks
from intake.core import words
from intake.core.line import Line
from intake.infra import logs
from intake.infra.clock import SYSTEM, Clock
from intake.infra.config import Settings
from intake.web import auth, cases, dashboard, health, home, simulator, twilio, voice

MAX_REQUEST_BYTES = 256 * 1024  # Twilio's largest webhook is far below this


def create_app(settings: Settings | None = None, clock: Clock = SYSTEM) -> Flask:
    settings = settings or Settings.from_env()
    logs.setup(settings.log_level)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder=str(words.TEMPLATES_DIR),
    )
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    line = Line.build(settings, clock)
    app.extensions["intake"] = line
    fallbacks.replay_if_waiting(line)  # texts answered from memory before a restart

    auth.init_app(app, local=not settings.uses_twilio)
    csrf = CSRFProtect(app)
    csrf.exempt(twilio.bp)  # Twilio signs its requests instead
    csrf.exempt(voice.bp)
    csrf.exempt(simulator.bp)  # its gate checks the token, once it knows the page is on
    app.register_blueprint(twilio.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(simulator.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(home.bp)
    return app
