"""The `intake` command: run the line, migrate the database, simulate a phone."""

from __future__ import annotations

import sys

import click

from intake.config import ConfigError, Settings


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.ClickException(f"configuration:\n{error}") from None


@click.group()
def main() -> None:
    """The after-hours missing-child intake line."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration (safe to run again)."""
    from intake.migrate import upgrade

    upgrade(load_settings().database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Start the line for development (Flask's server)."""
    from intake.app import create_app

    settings = load_settings()
    app = create_app(settings)
    mode = "Twilio" if settings.uses_twilio else "local outbox (no Twilio credentials)"
    click.echo(f"The line is up on http://{host}:{port} ({mode}).")
    click.echo("Text it from the terminal: intake simulate --from +15555550123")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
@click.option("--from", "sender", required=True, help="The phone number you text from.")
@click.option("--url", default=None, help="A running line (default: run one in-process).")
def simulate(sender: str, url: str | None) -> None:
    """Text the line from the terminal, through the signed webhook."""
    from intake import simulator

    settings = load_settings()
    if url:
        post = simulator.http_post(url)
    else:
        from intake.app import create_app

        post = simulator.app_post(create_app(settings))
    click.echo("Type a text and press Enter. 'photo: URL' sends a picture. Ctrl-D ends.")
    for line in sys.stdin if not sys.stdin.isatty() else _prompted():
        for reply in simulator.text_line(settings, post, sender, line.rstrip("\n")):
            click.echo(f"\n< {reply}\n")


def _prompted():
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
