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


@main.group()
def oncall() -> None:
    """The on-call roster: who is woken for a case, in what order, and when."""


def _roster_change(change):
    """Run a roster change in one transaction; show a RosterError as a plain message."""
    from intake.app import create_app
    from intake.roster import RosterError

    line = create_app(load_settings()).extensions["intake"]
    try:
        with line.db.transaction() as session:
            return change(session, line.settings.default_region)
    except RosterError as error:
        raise click.ClickException(str(error)) from None


@oncall.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option(
    "--by",
    "reach_by",
    type=click.Choice(["sms", "call", "both"]),
    default="sms",
    show_default=True,
    help="How to reach them.",
)
@click.option(
    "--window",
    "windows",
    multiple=True,
    help='When they are on call, e.g. "weekdays 17:00-09:00" (repeatable; none means always).',
)
def oncall_add(name: str, phone: str, reach_by: str, windows: tuple[str, ...]) -> None:
    """Add someone at the end of the chain."""
    from intake import roster

    person = _roster_change(
        lambda s, region: roster.add(s, name, phone, reach_by, list(windows), region)
    )
    click.echo(f"added {person.name} ({person.phone}) at place {person.position}")


@oncall.command("list")
def oncall_list() -> None:
    """Show the roster in order, and who is on call now."""
    from intake import roster
    from intake.models import utcnow

    def show(session, region):
        now_on = {p.id for p in roster.chain(session, utcnow(), load_settings().zone)}
        for p in roster.members(session):
            when = "; ".join(p.windows) or "always"
            if p.opted_out_at is not None:
                when += "  stopped texts (STOP)"
            mark = "*" if p.id in now_on else " "
            click.echo(f"{mark} {p.position}. {p.name:<20} {p.phone:<16} by {p.reach_by:<5} {when}")
        if not now_on:
            click.echo("Nobody is on call right now: alerts go to the fallback number.")

    _roster_change(show)


@oncall.command("remove")
@click.argument("who")
def oncall_remove(who: str) -> None:
    """Take someone (name or phone) off the roster; their open cases are alerted again."""
    from intake import roster
    from intake.app import create_app

    line = create_app(load_settings()).extensions["intake"]
    try:
        with line.db.transaction() as session:
            person = roster.remove(session, line, who)
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"removed {person.name}")


@oncall.command("move")
@click.argument("who")
@click.option(
    "--to",
    "position",
    type=click.IntRange(min=1),
    required=True,
    help="The new place in the chain (1 is first).",
)
def oncall_move(who: str, position: int) -> None:
    """Move someone (name or phone) to another place in the chain."""
    from intake import roster

    person = _roster_change(lambda s, region: roster.move(s, who, position, region))
    click.echo(f"{person.name} is now at place {person.position}")
