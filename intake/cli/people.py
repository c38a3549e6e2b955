"""The `intake oncall` and `intake staff` commands: the on-call roster and dashboard accounts."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from intake.cli.base import FIRST_SIGN_IN, load_settings, open_line
from intake.cli.base import warn as _warn
from intake.domain.enums import ReachBy
from intake.infra.config import Settings
from intake.infra.invocation import this_command

if TYPE_CHECKING:
    from intake.core.line import Line


@click.group()
def oncall() -> None:
    """The on-call roster: who is woken for a case, in what order, and when."""


def _roster_change(change):
    """Run a roster change in one transaction; show a RosterError as a plain message."""
    from intake.oncall.roster import RosterError

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
    from intake.oncall import roster

    person = _roster_change(
        lambda s, line: roster.add(
            s, name, phone, reach_by, list(windows), line.settings.default_region
        )
    )
    click.echo(f"added {person.name} ({person.phone}) at place {person.position}")


@oncall.command("list")
def oncall_list() -> None:
    """Show the roster in order, and who is on call now."""
    from intake.oncall import roster

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
    from intake.staff import commands as staff

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
    from intake.oncall import roster

    person = _roster_change(
        lambda s, line: roster.move(s, who, position, line.settings.default_region)
    )
    click.echo(f"{person.name} is now at place {person.position}")


@click.group()
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
    from intake.staff import accounts

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
    from intake.staff import accounts

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
    from intake.staff import accounts

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
    from intake.staff import accounts

    account = _account_change(lambda s, line: accounts.set_role(s, email, role.strip().lower()))
    click.echo(f"{account.email} is now {account.role}")


@staff.command("password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_password(email: str, password_stdin: bool) -> None:
    """Set a new password; every device signed in with the old one is signed out."""
    from intake.staff import accounts

    password = _new_password(password_stdin)
    account = _account_change(
        lambda s, line: accounts.set_password(s, email, password, line.clock.now())
    )
    click.echo(f"new password set for {account.email}")


@staff.command("remove")
@click.option("--email", required=True)
def staff_remove(email: str) -> None:
    """Stop an account signing in (at once, on every device); its name stays on the record."""
    from intake.staff import accounts

    account = _account_change(lambda s, line: accounts.deactivate(s, email, line.clock.now()))
    click.echo(f"{account.email} can no longer sign in")


@staff.command("reset-2fa")
@click.argument("email")
def staff_reset_two_step(email: str) -> None:
    """Turn off someone's two-step sign-in (a lost phone): their recovery codes go, every
    session of theirs ends, and they set it up again at their next sign-in."""
    from intake.staff import accounts

    account = _account_change(lambda s, line: accounts.reset_two_step(s, email, line.clock.now()))
    then = "set it up again when they sign in" if account.is_admin else "may set it up again"
    click.echo(f"two-step sign-in is off for {account.email}: they {then}")


def _new_password(from_stdin: bool) -> str:
    """The new password, from a script or typed twice; the rule is said before it is asked."""
    from intake.staff.accounts import PASSWORD_RULE

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    click.echo(f"The password needs {PASSWORD_RULE}.")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _with_roster_note(session, account):
    """The account, and a warning when its phone is not a number on the on-call roster."""
    from intake.staff import accounts

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
    from intake.staff.accounts import AccountError

    line = open_line()
    try:
        with line.db.transaction() as session:
            return change(session, line)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
