"""What every `intake` command shares: the settings, the app, the line, plain errors."""

from __future__ import annotations

import click

from intake.infra.config import ConfigError, Settings

FIRST_SIGN_IN = 'staff add --email you@example.org --name "Your Name" --admin'


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.ClickException(f"configuration:\n{error}") from None


def require_ready(db) -> None:
    """Stop with one plain sentence unless the database answers at the latest migration."""
    from intake.infra.migrate import readiness

    state = readiness(db.engine)
    if not state.ready:
        raise click.ClickException(state.problem)


def build_app(settings: Settings):
    """The app, or one plain message when its keys cannot read the stored data."""
    from intake.app import create_app

    try:
        return create_app(settings)
    except ConfigError as error:
        raise click.ClickException(f"configuration:\n{error}") from None


def open_line():
    """The line a command works on, its database checked first."""
    line = build_app(load_settings()).extensions["intake"]
    require_ready(line.db)
    return line


def warn(text: str) -> None:
    click.echo(text, err=True)
