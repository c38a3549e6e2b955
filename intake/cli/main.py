"""The `intake` command: run the line, migrate the database, simulate a phone.

Its commands live in cli.py, cli_people.py (oncall, staff) and, for the dev tools, in
intake/devtools (imported inside the command, so the running line never loads them)."""

from __future__ import annotations

import dataclasses
import os
import sys

import click

from intake.cli.base import (  # noqa: F401  (load_settings, build_app: the commands' own)
    FIRST_SIGN_IN,
    build_app,
    load_settings,
    open_line,
    require_ready,
)
from intake.cli.base import warn as _warn
from intake.cli.people import oncall, staff
from intake.domain.enums import Medium
from intake.infra.config import Settings, local_base_url
from intake.infra.invocation import this_command


@click.group()
def main() -> None:
    """The after-hours missing-child intake line."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration (safe to run again)."""
    from alembic.util import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from intake.infra.db import describe_failure
    from intake.infra.migrate import upgrade

    settings = load_settings()
    url = settings.database_url
    try:
        done = upgrade(url, keys=settings.data_key_ring())
    except SQLAlchemyError as error:
        raise click.ClickException(describe_failure(error, make_url(url))) from None
    except CommandError as error:
        raise click.ClickException(f"The migrations cannot be applied: {error}.") from None
    if done.before is None:
        click.echo(f"created the tables (migration {done.after}): the database is ready")
    elif done.before == done.after:
        click.echo(f"the database was already up to date (migration {done.after})")
    else:
        click.echo(f"upgraded the database from migration {done.before} to {done.after}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=5000, envvar="PORT", show_default=True, type=int, help="Default: $PORT."
)
def run(host: str, port: int) -> None:
    """Start the line for development (Werkzeug's server and the clock)."""
    from werkzeug.serving import make_server

    from intake import scheduler, startup

    settings = load_settings()
    if port and not os.environ.get("PUBLIC_BASE_URL"):  # links in texts must reach this server
        settings = dataclasses.replace(settings, public_base_url=local_base_url(port, host))
    app = build_app(settings)
    line = app.extensions["intake"]
    require_ready(line.db)
    server = make_server(host, port, app, threaded=True)  # a port in use: Werkzeug says so
    startup.announce(line, _warn)
    clock = scheduler.start_background(line)
    mode = "Twilio" if settings.uses_twilio else "local outbox (no Twilio credentials)"
    click.echo(f"The line is up on http://{host}:{server.port} ({mode}).")
    for line_of_text in addresses(settings, f"http://{host}:{server.port}"):
        click.echo(line_of_text)
    click.echo(f"Text it from the terminal: {this_command()} simulate --from +15555550123")
    try:
        server.serve_forever()
    finally:
        clock.shutdown(wait=False)


def addresses(settings: Settings, base: str) -> list[str]:
    """Where the phone simulator and the dashboard are, and how to sign in the first time."""
    if not settings.uses_twilio:
        simulator = f"Phone simulator (text and call the line in a browser): {base}/simulator/"
    elif settings.simulator:
        simulator = f"Phone simulator (signed-in admins only): {base}/simulator/"
    else:
        simulator = "Phone simulator: off with Twilio credentials (INTAKE_SIMULATOR=on for admins)"
    return [
        simulator,
        f"Staff dashboard: {base}/dashboard/",
        f"First time? Make yourself an admin: {this_command()} {FIRST_SIGN_IN}",
    ]


@main.command()
def worker() -> None:
    """Run the clock that sends due texts (production: one or more, beside gunicorn)."""
    from intake import scheduler, startup

    line = open_line()
    startup.announce(line, _warn)
    scheduler.run_forever(line)


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

    from intake.cli import reports

    line = open_line()
    for row in reports.outbox_rows(line, status, limit):
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(reports.outbox_line(row, line.settings.zone))


@main.group()
def case() -> None:
    """Work a case from the command line."""


@case.command("close")
@click.argument("ref")
def case_close(ref: str) -> None:
    """Close a case: the caregiver is told, and its pending follow-up texts are cancelled."""
    from intake.cases import lifecycle as cases

    line = open_line()
    with line.db.transaction() as session:
        found = cases.by_ref(session, ref)
        if found is None:
            raise click.ClickException(f"no case {ref}")
        cases.close(session, found, line.clock.now())
    click.echo(f"case {found.ref} closed")


@main.command()
@click.option("--from", "sender", required=True, help="The phone number you text or call from.")
@click.option("--url", default=None, help="A running line (default: run one in-process).")
@click.option("--voice", is_flag=True, help="Call the line instead of texting it.")
def simulate(sender: str, url: str | None, voice: bool) -> None:
    """Text (or call, with --voice) the line from the terminal, through the signed webhooks."""
    from intake.devtools import terminal  # a dev tool: the running line never imports it

    terminal.simulate(load_settings(), sender, url, voice)


main.add_command(oncall)
main.add_command(staff)


@main.command()
@click.option("--dry-run", is_flag=True, help="Show what would go; change nothing.")
def purge(dry_run: bool) -> None:
    """Purge the personal data of cases found or closed over INTAKE_RETENTION_DAYS ago."""
    from intake.cases import retention
    from intake.infra.transport import make_transport

    line = open_line()
    days = line.settings.retention_days
    if dry_run:
        plan = retention.plan(line, line.clock.now())
        click.echo(f"would purge {_cases(plan.refs)} found or closed over {days} days ago")
        click.echo(f"would forget {plan.callers} caller number(s) and conversation(s)")
        click.echo(
            f"would delete {plan.files} photo(s), recording(s) and text(s) at Twilio "
            f"({plan.waiting} waiting from earlier purges)"
        )
        click.echo("dry run: nothing changed")
        return
    report = retention.purge(line, make_transport(line.settings), line.clock.now())
    click.echo(f"purged {_cases(report.refs)} found or closed over {days} days ago")
    click.echo(f"forgot {report.callers} caller number(s) and conversation(s)")
    click.echo(f"deleted {report.deleted} photo(s), recording(s) and text(s) at Twilio")
    if report.left:
        click.echo(f"{report.left} still to delete at Twilio: the next purge tries again")
    if report.failed:
        raise click.ClickException(
            f"{report.failed} case(s) could not be purged (see the log): the next purge tries again"
        )


def _cases(refs: list[str]) -> str:
    """'2 cases: K7M3QX, 3NVMQ6', or '0 cases'."""
    listed = f": {', '.join(refs)}" if refs else ""
    return f"{len(refs)} case{'' if len(refs) == 1 else 's'}{listed}"


@main.group()
def keys() -> None:
    """The keys that encrypt the children's data (INTAKE_DATA_KEYS)."""


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=int, help="Rows per transaction.")
def keys_rotate(batch: int) -> None:
    """Re-encrypt every stored value with the first key; then older keys can be dropped."""
    from intake.infra import crypto

    line = open_line()
    try:
        counts = crypto.rotate(line.db.engine, line.settings.data_key_ring(), batch, click.echo)
    except crypto.DataKeyError as error:
        raise click.ClickException(str(error)) from None
    for table, count in counts.items():
        click.echo(f"{table}: {count} values re-encrypted")
    click.echo(f"done: {sum(counts.values())} values now use the first key")


@main.command("check")
def check_command() -> None:
    """Check a production configuration: database, migrations, keys, Twilio, roster."""
    from intake.cli import check

    findings = []
    for finding in check.run():
        click.echo(str(finding))
        findings.append(finding)
    failed = sum(f.outcome == check.FAIL for f in findings)
    if failed:
        click.echo(f"{failed} problem(s): the line is not ready for real callers.")
        sys.exit(1)
    click.echo("all checks passed")


@main.command("fallback-twiml")
@click.option("--sms", "channel", flag_value="sms", help="For the messaging fallback URL.")
@click.option("--voice", "channel", flag_value="voice", help="For the voice fallback URL.")
def fallback_twiml(channel: str | None) -> None:
    """Print the TwiML for a TwiML Bin that Twilio answers with when the line is down."""
    from intake.channels import twiml_bin

    if channel is None:
        raise click.UsageError("say which: --sms or --voice")
    settings = load_settings()
    click.echo(twiml_bin.sms(settings) if channel == Medium.SMS else twiml_bin.voice(settings))
