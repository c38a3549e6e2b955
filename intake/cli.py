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
    from intake import scheduler
    from intake.app import create_app

    settings = load_settings()
    app = create_app(settings)
    clock = scheduler.start_background(app.extensions["intake"])
    mode = "Twilio" if settings.uses_twilio else "local outbox (no Twilio credentials)"
    click.echo(f"The line is up on http://{host}:{port} ({mode}).")
    click.echo("Text it from the terminal: intake simulate --from +15555550123")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        clock.shutdown(wait=False)


@main.command()
def worker() -> None:
    """Run the clock that sends due texts (production: one or more, beside gunicorn)."""
    from intake import scheduler
    from intake.app import create_app

    app = create_app(load_settings())
    scheduler.run_forever(app.extensions["intake"])


@main.command("outbox")
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed", "cancelled"]),
    default=None,
)
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, for scripts.")
def outbox_list(status: str | None, limit: int, as_json: bool) -> None:
    """List the texts the line sends on its own, newest first."""
    import json

    from intake import reports
    from intake.app import create_app

    line = create_app(load_settings()).extensions["intake"]
    for row in reports.outbox_rows(line, status, limit):
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(reports.outbox_line(row))


@main.group()
def case() -> None:
    """Work a case from the command line."""


@case.command("close")
@click.argument("ref")
def case_close(ref: str) -> None:
    """Close a case: its pending follow-up texts are cancelled."""
    from sqlalchemy import select

    from intake import cases
    from intake.app import create_app
    from intake.models import Case

    line = create_app(load_settings()).extensions["intake"]
    with line.db.transaction() as session:
        found = session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if found is None:
            raise click.ClickException(f"no case {ref}")
        cases.close(session, found)
    click.echo(f"case {found.ref} closed")


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
    inbox = simulator.Inbox(settings, sender)
    click.echo("Type a text and press Enter. 'photo: URL' sends a picture. Ctrl-D ends.")
    for line in sys.stdin if not sys.stdin.isatty() else _prompted():
        for reply in simulator.text_line(settings, post, sender, line.rstrip("\n")):
            click.echo(f"\n< {reply}\n")
        for later in inbox.new_texts():
            click.echo(f"\n< (sent by the line) {later}\n")


def _prompted():
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
