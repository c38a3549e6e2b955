"""The `intake` command: run the line, migrate the database, simulate a phone."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import TYPE_CHECKING

import click

from intake.config import ConfigError, Settings, local_base_url
from intake.domain import Medium, ReachBy
from intake.invocation import this_command

if TYPE_CHECKING:
    from intake.line import Line


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.ClickException(f"configuration:\n{error}") from None


def require_ready(db) -> None:
    """Stop with one plain sentence unless the database answers at the latest migration."""
    from intake.migrate import readiness

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


def _warn(text: str) -> None:
    click.echo(text, err=True)


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

    from intake.db import describe_failure
    from intake.migrate import upgrade

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


FIRST_SIGN_IN = 'staff add --email you@example.org --name "Your Name" --admin'


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

    from intake import reports

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
    from intake import cases

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
    import threading

    from intake import simulator
    from intake.db import Database

    settings = load_settings()
    if url and not os.environ.get("PUBLIC_BASE_URL", "").strip():
        # The line checks signatures against PUBLIC_BASE_URL, or without it against the
        # address it runs on (`intake run --port`): that is --url, whatever PORT says here.
        settings = dataclasses.replace(settings, public_base_url=url.rstrip("/"))
    if not (voice and url):  # the in-process line and the inbox of texts read the database
        require_ready(Database(settings.database_url))
    post = _line_post(settings, url)
    if voice:
        _call(settings, post, sender, url)
        return
    screen = threading.Lock()

    def show(text: str) -> None:
        with screen:  # one whole text at a time, never two interleaved
            click.echo(text)

    click.echo("Type a text and press Enter. 'photo: URL' sends a picture. Ctrl-D ends.")
    finish = simulator.watch(
        simulator.Inbox(settings, sender), lambda t: show(f"\n< (sent by the line) {t}\n")
    )
    try:
        for line in sys.stdin if not sys.stdin.isatty() else _prompted():
            for reply in _replies(settings, post, sender, line.rstrip("\n"), url):
                show(f"\n< {reply}\n")
    finally:
        finish()


def _line_post(settings, url: str | None):
    """How the simulator reaches the line: over HTTP at --url, or an app in this process."""
    from intake import simulator

    if url:
        problem = simulator.unreachable(url)
        if problem:
            raise click.ClickException(problem)
        return simulator.http_post(url)
    from intake.app import create_app

    return simulator.app_post(create_app(settings))


def _call(settings, post, sender: str, url: str | None) -> None:
    """One phone call in the terminal: the driver plays Twilio, you play the caller."""
    import requests

    from intake import simulator

    click.echo(f"Calling the line. {simulator.CALL_HELP} Ctrl-D hangs up.")
    try:
        call = simulator.Call.start(post, settings, sender, callee=_ask_callee, listener=_show)
        while not call.ended:
            typed = _ask("> ")
            if typed is None:
                call.hang_up()
            elif not simulator.play_line(call, typed):
                click.echo(simulator.CALL_HELP)
    except simulator.CallError as error:
        raise click.ClickException(str(error)) from None
    except requests.RequestException:
        raise click.ClickException(f"The line at {url} stopped answering.") from None
    click.echo("[the call ended]")


def _show(who: str, said) -> None:
    """A line the caller (or, indented, a person the line dialled) hears, with its language."""
    if who:
        click.echo(f"  ({who} hears) [{said.language}] {said.text}")
    else:
        click.echo(f"< [{said.language}] {said.text}")


def _ask_callee(number: str):
    """The terminal decides what a person the line dials does."""
    from intake import simulator

    reply = _ask(f"The line dials {number}: the person on call answers? [y/N] ") or ""
    if not reply.strip().lower().startswith("y"):
        return simulator.NO_ANSWER
    keys = (_ask("They press (keys, or Enter for nothing): ") or "").strip()
    return simulator.answers(*([keys] if keys else []))


def _ask(prompt: str) -> str | None:
    """One typed line; None at the end of input. Piped input is echoed, as if typed."""
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    line = sys.stdin.readline()
    if not line:
        return None
    click.echo(prompt + line.rstrip("\n"))
    return line.rstrip("\n")


def _replies(settings, post, sender: str, text: str, url: str | None) -> list[str]:
    """The line's answer to one typed line; a line that went away ends the session plainly."""
    import requests

    from intake import simulator

    try:
        return simulator.text_line(settings, post, sender, text)
    except requests.RequestException:
        raise click.ClickException(f"The line at {url} stopped answering.") from None


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
    from intake.roster import RosterError

    line = open_line()
    try:
        with line.db.transaction() as session:
            return change(session, line)
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
        lambda s, line: roster.add(
            s, name, phone, reach_by, list(windows), line.settings.default_region
        )
    )
    click.echo(f"added {person.name} ({person.phone}) at place {person.position}")


@oncall.command("list")
def oncall_list() -> None:
    """Show the roster in order, and who is on call now."""
    from intake import roster

    def show(session, line: Line):
        now_on = {p.id for p in roster.chain(session, line.clock.now(), line.settings.zone)}
        for p in roster.members(session):
            when = "; ".join(p.windows) or "always"
            if p.opted_out_at is not None:
                when += "  stopped texts (STOP)"
            mark = "*" if p.id in now_on else " "
            by = ReachBy(p.reach_by).shown
            click.echo(f"{mark} {p.position}. {p.name:<20} {p.phone:<16} by {by:<5} {when}")
        if not now_on:
            click.echo("Nobody is on call right now: alerts go to the fallback number.")

    _roster_change(show)


@oncall.command("remove")
@click.argument("who")
def oncall_remove(who: str) -> None:
    """Take someone (name or phone) off the roster; their open cases are alerted again."""
    from intake import staff

    person = _roster_change(lambda s, line: staff.leave_roster(s, line, who, line.clock.now()))
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

    person = _roster_change(
        lambda s, line: roster.move(s, who, position, line.settings.default_region)
    )
    click.echo(f"{person.name} is now at place {person.position}")


@main.command()
@click.option("--dry-run", is_flag=True, help="Show what would go; change nothing.")
def purge(dry_run: bool) -> None:
    """Purge the personal data of cases found or closed over INTAKE_RETENTION_DAYS ago."""
    from intake import retention
    from intake.transport import make_transport

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
def staff() -> None:
    """Dashboard accounts (the on-call roster is `intake oncall`)."""


@staff.command("add")
@click.option("--email", required=True, help="What they sign in with.")
@click.option("--name", required=True, help="Shown to other staff and in the audit log.")
@click.option("--admin", is_flag=True, help="May edit the roster and read the audit log.")
@click.option(
    "--phone",
    default=None,
    help="Their number on the on-call roster: lets them take cases and text caregivers.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def staff_add(email: str, name: str, admin: bool, phone: str | None, password_stdin: bool) -> None:
    """Make a dashboard account; the password is asked for (never given as an option)."""
    from intake import accounts

    settings = load_settings()
    password = _new_password(password_stdin)
    account, note = _account_change(
        lambda s, line: _with_roster_note(
            s, accounts.add(s, email, name, password, admin, phone, line.settings.default_region)
        )
    )
    click.echo(f"added {account.role} {account.name} <{account.email}>")
    if note:
        _warn(note)
    click.echo(_sign_in_at(settings))


@staff.command("list")
def staff_list() -> None:
    """Every dashboard account: role, roster number, whether it may sign in."""
    from intake import accounts

    def show(session, line: Line) -> None:
        everyone = accounts.everyone(session)
        for account in everyone:
            phone = account.phone or "no phone"
            if account.phone and accounts.roster_person(session, account) is None:
                phone += " (not on the roster)"
            state = "" if account.active else "  removed: cannot sign in"
            click.echo(f"{account.email:<32} {account.role:<6} {account.name:<20} {phone}{state}")
        if not everyone:
            click.echo(f"No accounts yet. Make the first: {this_command()} {FIRST_SIGN_IN}")

    _account_change(show)


@staff.command("set-phone")
@click.argument("email")
@click.argument("phone")
def staff_set_phone(email: str, phone: str) -> None:
    """Link an account to its number on the on-call roster ("none" unlinks it)."""
    from intake import accounts

    number = None if phone.strip().lower() == "none" else phone
    account, note = _account_change(
        lambda s, line: _with_roster_note(
            s, accounts.set_phone(s, email, number, line.settings.default_region)
        )
    )
    click.echo(f"{account.email}: phone {account.phone or 'none'}")
    if note:
        _warn(note)


@staff.command("set-role")
@click.argument("email")
@click.argument("role")
def staff_set_role(email: str, role: str) -> None:
    """Make an account staff or admin (admins edit the roster and read the audit log)."""
    from intake import accounts

    account = _account_change(lambda s, line: accounts.set_role(s, email, role.strip().lower()))
    click.echo(f"{account.email} is now {account.role}")


@staff.command("password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_password(email: str, password_stdin: bool) -> None:
    """Set a new password; every device signed in with the old one is signed out."""
    from intake import accounts

    password = _new_password(password_stdin)
    account = _account_change(
        lambda s, line: accounts.set_password(s, email, password, line.clock.now())
    )
    click.echo(f"new password set for {account.email}")


@staff.command("remove")
@click.option("--email", required=True)
def staff_remove(email: str) -> None:
    """Stop an account signing in (at once, on every device); its name stays on the record."""
    from intake import accounts

    account = _account_change(lambda s, line: accounts.deactivate(s, email, line.clock.now()))
    click.echo(f"{account.email} can no longer sign in")


@staff.command("reset-2fa")
@click.argument("email")
def staff_reset_two_step(email: str) -> None:
    """Turn off someone's two-step sign-in (a lost phone): their recovery codes go, every
    session of theirs ends, and they set it up again at their next sign-in."""
    from intake import accounts

    account = _account_change(lambda s, line: accounts.reset_two_step(s, email, line.clock.now()))
    then = "set it up again when they sign in" if account.is_admin else "may set it up again"
    click.echo(f"two-step sign-in is off for {account.email}: they {then}")


def _new_password(from_stdin: bool) -> str:
    """The new password, from a script or typed twice; the rule is said before it is asked."""
    from intake.accounts import PASSWORD_RULE

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    click.echo(f"The password needs {PASSWORD_RULE}.")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _with_roster_note(session, account):
    """The account, and a warning when its phone is not a number on the on-call roster."""
    from intake import accounts

    if not account.phone or accounts.roster_person(session, account) is not None:
        return account, None
    return account, (
        f"{account.phone} is not on the on-call roster: this account cannot take cases or "
        f"text caregivers until it is ({this_command()} oncall add --name "
        f'"{account.name}" --phone {account.phone}, or the dashboard\'s roster page).'
    )


def _sign_in_at(settings: Settings) -> str:
    """Where to sign in: PUBLIC_BASE_URL, or the local address, checked to answer."""
    import requests

    dashboard = f"{settings.public_base_url}/dashboard/"
    if os.environ.get("PUBLIC_BASE_URL", "").strip():
        return f"sign in at {dashboard}"
    try:
        requests.get(f"{settings.public_base_url}/healthz", timeout=3)
    except requests.RequestException:
        return (
            f"sign in at {dashboard} once the line runs there: nothing answers at "
            f"{settings.public_base_url} now (start it with `make run`; "
            "on another port, use that port)"
        )
    return f"sign in at {dashboard} (the line answers there now)"


def _account_change(change):
    """Run an account change in one transaction; an AccountError is a plain message."""
    from intake.accounts import AccountError

    line = open_line()
    try:
        with line.db.transaction() as session:
            return change(session, line)
    except AccountError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def keys() -> None:
    """The keys that encrypt the children's data (INTAKE_DATA_KEYS)."""


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=int, help="Rows per transaction.")
def keys_rotate(batch: int) -> None:
    """Re-encrypt every stored value with the first key; then older keys can be dropped."""
    from intake import crypto

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
    from intake import check

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
    from intake import twiml_bin

    if channel is None:
        raise click.UsageError("say which: --sms or --voice")
    settings = load_settings()
    click.echo(twiml_bin.sms(settings) if channel == Medium.SMS else twiml_bin.voice(settings))
